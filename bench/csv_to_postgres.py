#!/usr/bin/env python3
"""Benchmark: a 100 MB OPD CSV export into the PostgreSQL warehouse, next to `psql \\copy`.

Generates the puskesmas-visit CSV of bench/csv_to_sqlite.py at about 100 MB (2,300,000 rows by
default; Indonesian numbers, month names, messy kelurahan names, 1 % invalid values), then times,
side by side on the same file:

  1. psql \\copy   the file into a table of six text columns (no parsing, no checks: the floor)
  2. satu run     the canonical pipeline into dw.observasi: every value parsed, every kelurahan
                  resolved to its Kemendagri code, every date to its period, invalid rows
                  quarantined with their reason, the rest COPYed and merged
  3. satu run     again, unchanged (every row compared with its stored version, nothing written)

reports rows/s, MB/s, peak RSS and the ratio to psql, checks the counts (loaded + quarantined =
rows) and writes the results into bench/README.md.

Needs: psql, PostgreSQL on 127.0.0.1:5432 (trust; override with BENCH_PG_URL), /usr/bin/time.

Usage: python3 bench/csv_to_postgres.py [--rows N] [--batch-rows N] [--landing] [--no-write]
"""

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import benchlib
from benchlib import psql
from csv_to_sqlite import AGES, CONFIG, generate

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work" / "csv_pg"
PG_DB = "satu_bench_csv"
PG_URL = os.environ.get("BENCH_PG_URL", f"postgres://postgres@127.0.0.1:5432/{PG_DB}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_300_000)
    ap.add_argument("--batch-rows", type=int, default=20_000)
    ap.add_argument("--landing", action="store_true", help="also keep the raw batches as Avro (landing zone)")
    ap.add_argument("--no-write", action="store_true", help="do not update bench/README.md")
    a = ap.parse_args()

    binary = benchlib.release_binary()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    csv = WORK / "kunjungan.csv"
    t = time.perf_counter()
    generate(csv, a.rows)
    mb = csv.stat().st_size / 1e6
    print(f"generated {a.rows:,} rows ({mb:.1f} MB) in {time.perf_counter() - t:.1f}s")

    benchlib.fresh_pg_database(PG_DB)
    ages = ", ".join(f'"{g}" = "{g} tahun"' for g in AGES)
    config = CONFIG.format(batch_rows=a.batch_rows, ages=ages, landing="true" if a.landing else "false")
    (WORK / "pipelines.toml").write_text(config.replace("sqlite://warehouse.db", PG_URL))
    # Warehouse schema and region list first, so the runs measure the load.
    benchlib.timed([str(binary), "status"], WORK)

    psql(PG_DB, "CREATE TABLE psql_kunjungan (kelurahan text, tanggal text, jk text, jenis text, umur text, jumlah text)")
    copy = (f"psql -h 127.0.0.1 -U postgres -d {PG_DB} -v ON_ERROR_STOP=1 "
            f"-c \"\\copy psql_kunjungan FROM '{csv}' WITH (FORMAT csv, DELIMITER ';', HEADER true)\"")
    copy_s, copy_rss, _ = benchlib.timed(["bash", "-c", copy], WORK)
    copied = int(psql(PG_DB, "SELECT count(*) FROM psql_kunjungan"))
    first_s, first_rss, _ = benchlib.timed([str(binary), "run", "bench", "--log", "warn"], WORK)
    loaded = int(psql(PG_DB, "SELECT count(*) FROM dw.observasi"))
    quarantined = int(psql(PG_DB, "SELECT count(*) FROM etl.reject"))
    print(f"psql copied {copied:,}; satu loaded {loaded:,} and quarantined {quarantined:,}")
    if copied != a.rows or loaded + quarantined != a.rows:
        sys.exit("the counts do not add up to the rows of the file")
    again_s, again_rss, _ = benchlib.timed([str(binary), "run", "bench", "--log", "warn"], WORK)
    if int(psql(PG_DB, "SELECT count(*) FROM dw.observasi")) != loaded:
        sys.exit("the unchanged rerun changed the warehouse")

    rows = a.rows
    lines = [
        f"| file | {rows:,} rows, {mb:.1f} MB CSV (batch_rows {a.batch_rows:,}, landing {'on' if a.landing else 'off'}) |",
        f"| `psql \\copy` into six text columns | {copy_s:.1f} s, {rows / copy_s:,.0f} rows/s, {mb / copy_s:.1f} MB/s |",
        f"| satu run, canonical, first load | {first_s:.1f} s, {rows / first_s:,.0f} rows/s, {mb / first_s:.1f} MB/s, "
        f"**{copy_s / first_s:.2f}× psql**, peak RSS {first_rss:.0f} MiB |",
        f"| satu run, unchanged rerun | {again_s:.1f} s, {rows / again_s:,.0f} rows/s, peak RSS {again_rss:.0f} MiB |",
        f"| counts | {loaded:,} observations loaded + {quarantined:,} quarantined = {rows:,} rows |",
    ]
    benchlib.report("csv-pg", lines, write=not a.no_write)


if __name__ == "__main__":
    main()
