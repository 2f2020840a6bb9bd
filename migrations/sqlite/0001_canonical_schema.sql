-- The canonical Satu Data warehouse (DOMAIN.md §6), SQLite edition.
-- Each schema (ref, meta, etl, dw) is a database file attached under that name, so analyst SQL
-- such as `SELECT … FROM dw.observasi JOIN ref.wilayah …` runs unchanged on PostgreSQL.

-- ref: reference code lists -------------------------------------------------------------------
CREATE TABLE ref.wilayah (
    kode        TEXT PRIMARY KEY,            -- Kemendagri, dotted: 35.76.02.1003
    kode_polos  TEXT NOT NULL,               -- without dots: 3576021003
    nama        TEXT NOT NULL,
    level       INTEGER NOT NULL CHECK (level BETWEEN 1 AND 4),
    jenis       TEXT NOT NULL,               -- provinsi, kabupaten, kota, kecamatan, kelurahan, desa, desa_adat
    kode_induk  TEXT,
    sumber      TEXT NOT NULL                -- which list: kepmendagri-2025/…
);
CREATE INDEX ref.wilayah_kode_polos ON wilayah (kode_polos);
CREATE INDEX ref.wilayah_induk ON wilayah (kode_induk);

CREATE TABLE ref.periode (
    kode     TEXT PRIMARY KEY,               -- 2024, 2024-S1, 2024-Q3, 2024-03, 2024-03-15, TA2024/2025
    jenis    TEXT NOT NULL,                  -- tahun, semester, triwulan, bulan, hari, tahun_ajaran
    mulai    TEXT NOT NULL,                  -- first day, YYYY-MM-DD
    selesai  TEXT NOT NULL                   -- last day
);

CREATE TABLE ref.dimensi (
    kode  TEXT PRIMARY KEY,                  -- jenis_kelamin
    nama  TEXT NOT NULL
);

CREATE TABLE ref.kode_dimensi (
    dimensi  TEXT NOT NULL,                  -- jenis_kelamin
    kode     TEXT NOT NULL,                  -- L
    label    TEXT NOT NULL,                  -- Laki-laki
    PRIMARY KEY (dimensi, kode)
);

CREATE TABLE ref.info (
    kunci  TEXT PRIMARY KEY,
    nilai  TEXT NOT NULL
);

-- meta: who produces what (BPS MS-Ind metadata) -----------------------------------------------
CREATE TABLE meta.organisasi (
    kode   TEXT PRIMARY KEY,                 -- DINKES-3576
    nama   TEXT NOT NULL,
    peran  TEXT NOT NULL                     -- produsen, walidata, pembina, koordinator
);

CREATE TABLE meta.dataset (
    slug       TEXT PRIMARY KEY,
    judul      TEXT NOT NULL,
    opd        TEXT NOT NULL,                -- meta.organisasi.kode
    frekuensi  TEXT NOT NULL,                -- harian, bulanan, triwulanan, semesteran, tahunan
    akses      TEXT NOT NULL,                -- publik, terbatas, privat
    prioritas  BOOLEAN NOT NULL,
    deskripsi  TEXT
);

CREATE TABLE meta.indikator (
    kode      TEXT PRIMARY KEY,              -- kes.kunjungan_puskesmas
    nama      TEXT NOT NULL,
    satuan    TEXT NOT NULL,
    konsep    TEXT,
    definisi  TEXT,
    ukuran    TEXT,
    dimensi   TEXT NOT NULL                  -- comma-separated dimension codes
);

-- etl: runs, rejects, source state ------------------------------------------------------------
CREATE TABLE etl.run (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline        TEXT NOT NULL,
    started_at      TEXT NOT NULL,           -- UTC, RFC 3339
    finished_at     TEXT,
    status          TEXT NOT NULL,           -- running, success, failed
    rows_read       INTEGER NOT NULL DEFAULT 0,
    rows_inserted   INTEGER NOT NULL DEFAULT 0,
    rows_updated    INTEGER NOT NULL DEFAULT 0,
    rows_unchanged  INTEGER NOT NULL DEFAULT 0,
    rows_rejected   INTEGER NOT NULL DEFAULT 0,
    rows_filtered   INTEGER NOT NULL DEFAULT 0,
    rows_duplicate  INTEGER NOT NULL DEFAULT 0,
    error           TEXT
);
CREATE INDEX etl.run_pipeline ON run (pipeline, id);

CREATE TABLE etl.reject (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       INTEGER NOT NULL,
    pipeline     TEXT NOT NULL,
    rule         TEXT NOT NULL,              -- angka_ambigu, wilayah_tidak_dikenal, duplikat, …
    message      TEXT NOT NULL,
    column_name  TEXT NOT NULL,
    raw_value    TEXT,
    location     TEXT NOT NULL,              -- demo/data/dinkes.csv:14
    row_json     TEXT NOT NULL               -- the whole source row
);
CREATE INDEX etl.reject_run ON reject (run_id);

CREATE TABLE etl.state (
    pipeline    TEXT PRIMARY KEY,
    state       TEXT NOT NULL,               -- the source checkpoint, JSON
    run_id      INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);

-- dw: the one long fact table -----------------------------------------------------------------
CREATE TABLE dw.observasi (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset            TEXT NOT NULL,        -- meta.dataset.slug
    indikator          TEXT NOT NULL,        -- meta.indikator.kode
    kode_wilayah       TEXT NOT NULL,        -- ref.wilayah.kode
    periode            TEXT NOT NULL,        -- ref.periode.kode
    dimensi_kunci      TEXT NOT NULL,        -- sorted k=v|k=v, '' without dimensions
    nilai              NUMERIC,              -- NULL for tidak_tersedia / rahasia
    satuan             TEXT NOT NULL,
    status_nilai       TEXT NOT NULL,        -- tetap, sementara, sangat_sementara, tidak_tersedia, nihil, rahasia
    status_verifikasi  TEXT NOT NULL DEFAULT 'belum_diverifikasi',
    nilai_mentah       TEXT,                 -- the value as the source wrote it
    lokasi_sumber      TEXT NOT NULL,        -- demo/data/dinkes.csv:14
    run_id             INTEGER NOT NULL,     -- etl.run.id that loaded this version
    berlaku_mulai      TEXT NOT NULL,        -- when this version became current (UTC)
    berlaku_sampai     TEXT,                 -- when a revision replaced it; NULL = current
    diganti_run_id     INTEGER               -- the run that replaced it
);
-- One current version per observation key; revisions keep the closed rows.
CREATE UNIQUE INDEX dw.observasi_kini ON observasi (dataset, indikator, kode_wilayah, periode, dimensi_kunci)
    WHERE berlaku_sampai IS NULL;
CREATE INDEX dw.observasi_wilayah ON observasi (kode_wilayah);
