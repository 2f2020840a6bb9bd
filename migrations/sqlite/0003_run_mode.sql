-- How a run read its rows: `source` (the OPD system) or `replay` (the landing zone).
ALTER TABLE etl.run ADD COLUMN mode TEXT NOT NULL DEFAULT 'source';
