-- The canonical Satu Data warehouse (DOMAIN.md §6), PostgreSQL edition: the same schemas, tables
-- and columns as migrations/sqlite, with exact NUMERIC values and timestamptz.

CREATE SCHEMA IF NOT EXISTS ref;
CREATE SCHEMA IF NOT EXISTS meta;
CREATE SCHEMA IF NOT EXISTS etl;
CREATE SCHEMA IF NOT EXISTS dw;

-- ref: reference code lists -------------------------------------------------------------------
CREATE TABLE ref.wilayah (
    kode        text PRIMARY KEY,
    kode_polos  text NOT NULL,
    nama        text NOT NULL,
    level       integer NOT NULL CHECK (level BETWEEN 1 AND 4),
    jenis       text NOT NULL,
    kode_induk  text,
    sumber      text NOT NULL
);
CREATE INDEX wilayah_kode_polos ON ref.wilayah (kode_polos);
CREATE INDEX wilayah_induk ON ref.wilayah (kode_induk);

CREATE TABLE ref.periode (
    kode     text PRIMARY KEY,
    jenis    text NOT NULL,
    mulai    text NOT NULL,
    selesai  text NOT NULL
);

CREATE TABLE ref.dimensi (
    kode  text PRIMARY KEY,
    nama  text NOT NULL
);

CREATE TABLE ref.kode_dimensi (
    dimensi  text NOT NULL,
    kode     text NOT NULL,
    label    text NOT NULL,
    PRIMARY KEY (dimensi, kode)
);

CREATE TABLE ref.info (
    kunci  text PRIMARY KEY,
    nilai  text NOT NULL
);

-- meta ------------------------------------------------------------------------------------------
CREATE TABLE meta.organisasi (
    kode   text PRIMARY KEY,
    nama   text NOT NULL,
    peran  text NOT NULL
);

CREATE TABLE meta.dataset (
    slug       text PRIMARY KEY,
    judul      text NOT NULL,
    opd        text NOT NULL,
    frekuensi  text NOT NULL,
    akses      text NOT NULL,
    prioritas  boolean NOT NULL,
    deskripsi  text
);

CREATE TABLE meta.indikator (
    kode      text PRIMARY KEY,
    nama      text NOT NULL,
    satuan    text NOT NULL,
    konsep    text,
    definisi  text,
    ukuran    text,
    dimensi   text NOT NULL
);

-- etl -------------------------------------------------------------------------------------------
CREATE TABLE etl.run (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pipeline        text NOT NULL,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    status          text NOT NULL,
    rows_read       bigint NOT NULL DEFAULT 0,
    rows_inserted   bigint NOT NULL DEFAULT 0,
    rows_updated    bigint NOT NULL DEFAULT 0,
    rows_unchanged  bigint NOT NULL DEFAULT 0,
    rows_rejected   bigint NOT NULL DEFAULT 0,
    rows_filtered   bigint NOT NULL DEFAULT 0,
    rows_duplicate  bigint NOT NULL DEFAULT 0,
    error           text
);
CREATE INDEX run_pipeline ON etl.run (pipeline, id);

CREATE TABLE etl.reject (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       bigint NOT NULL,
    pipeline     text NOT NULL,
    rule         text NOT NULL,
    message      text NOT NULL,
    column_name  text NOT NULL,
    raw_value    text,
    location     text NOT NULL,
    row_json     text NOT NULL
);
CREATE INDEX reject_run ON etl.reject (run_id);

CREATE TABLE etl.state (
    pipeline    text PRIMARY KEY,
    state       text NOT NULL,
    run_id      bigint NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- dw --------------------------------------------------------------------------------------------
CREATE TABLE dw.observasi (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dataset            text NOT NULL,
    indikator          text NOT NULL,
    kode_wilayah       text NOT NULL,
    periode            text NOT NULL,
    dimensi_kunci      text NOT NULL,
    nilai              numeric,
    satuan             text NOT NULL,
    status_nilai       text NOT NULL,
    status_verifikasi  text NOT NULL DEFAULT 'belum_diverifikasi',
    nilai_mentah       text,
    lokasi_sumber      text NOT NULL,
    run_id             bigint NOT NULL,
    berlaku_mulai      timestamptz NOT NULL,
    berlaku_sampai     timestamptz,
    diganti_run_id     bigint
);
CREATE UNIQUE INDEX observasi_kini ON dw.observasi (dataset, indikator, kode_wilayah, periode, dimensi_kunci)
    WHERE berlaku_sampai IS NULL;
CREATE INDEX observasi_wilayah ON dw.observasi (kode_wilayah);

-- The analyst role: read on ref, meta and dw, nothing else. Grant it to login roles:
--   CREATE ROLE budi LOGIN PASSWORD '…' IN ROLE satu_analis;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'satu_analis') THEN
        CREATE ROLE satu_analis NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA ref, meta, dw TO satu_analis;
GRANT SELECT ON ALL TABLES IN SCHEMA ref, meta, dw TO satu_analis;
ALTER DEFAULT PRIVILEGES IN SCHEMA ref, meta, dw GRANT SELECT ON TABLES TO satu_analis;
