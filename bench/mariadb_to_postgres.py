#!/usr/bin/env python3
"""Benchmark: an OPD population register in MariaDB copied into the PostgreSQL warehouse.

Creates a MariaDB table of N rows (default 1,000,000: id, nik, nama, jenis_kelamin, tanggal_lahir,
kode_kelurahan, alamat, pekerjaan, status_kawin, penghasilan DECIMAL(14,2), updated_at, aktif;
~5 % NULLs; non-ASCII names), then times, side by side:

  1. the raw text pipe  mariadb --quick --batch -e "SELECT …" | psql -c "COPY … FROM STDIN"
  2. satu run           (entity pipeline, merge on id, incremental cursor updated_at)
  3. satu run           after 1 % of the rows changed
  4. satu run           with nothing changed

reports rows/s, peak RSS and the ratio to the pipe, verifies the copy (count, sum of
penghasilan, NULL counts, max updated_at) and writes the results into bench/README.md.

Needs: mariadb and psql clients, MariaDB on 127.0.0.1:3306 (root, no password) and PostgreSQL on
127.0.0.1:5432 (trust), /usr/bin/time. Override with BENCH_MYSQL_URL / BENCH_PG_URL.

Usage: python3 bench/mariadb_to_postgres.py [--rows N] [--batch-rows N] [--no-write]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import benchlib
from benchlib import psql, sh

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work" / "mariadb_pg"
MY_DB = "satu_bench"
PG_DB = "satu_bench"
MY_URL = os.environ.get("BENCH_MYSQL_URL", f"mysql://root@127.0.0.1:3306/{MY_DB}")
PG_URL = os.environ.get("BENCH_PG_URL", f"postgres://postgres@127.0.0.1:5432/{PG_DB}")
COLUMNS = "id, nama, jenis_kelamin, tanggal_lahir, kode_kelurahan, alamat, pekerjaan, status_kawin, penghasilan, updated_at, aktif"

CONFIG = """
[warehouse]
url = "{pg}"
[defaults]
batch_rows = {batch_rows}
[[organisation]]
code = "DISPENDUKCAPIL-3576"
name = "Dispendukcapil Kota Mojokerto"
[[pipeline]]
name = "penduduk"
opd = "DISPENDUKCAPIL-3576"
landing = {landing}
source = {{ type = "mariadb", url = "{my}", table = "penduduk", primary_key = "id", cursor = "updated_at" }}
[pipeline.entity]
table = "penduduk"
primary_key = ["id"]
columns = {{ id = "bigint", nama = "text", jenis_kelamin = "text", tanggal_lahir = "date", kode_kelurahan = "text",
            alamat = "text", pekerjaan = "text", status_kawin = "text", penghasilan = "numeric(14,2)",
            updated_at = "timestamp", aktif = "boolean" }}
"""


def mysql(sql: str) -> str:
    return sh(f"mariadb -h 127.0.0.1 -u root --batch --skip-column-names -e \"{sql}\"").stdout.strip()


def timed(cmd: list, env=None) -> tuple:
    return benchlib.timed(cmd, WORK, env)


def create_source(rows: int) -> None:
    mysql(f"DROP DATABASE IF EXISTS {MY_DB}; CREATE DATABASE {MY_DB} CHARACTER SET utf8mb4")
    ddl = (f"USE {MY_DB}; CREATE TABLE penduduk (id BIGINT PRIMARY KEY, nik CHAR(16), nama VARCHAR(80), "
           "jenis_kelamin CHAR(1), tanggal_lahir DATE, kode_kelurahan VARCHAR(13), alamat VARCHAR(120), "
           "pekerjaan VARCHAR(40), status_kawin VARCHAR(20), penghasilan DECIMAL(14,2), updated_at DATETIME(6), "
           "aktif TINYINT(1), KEY (updated_at, id)) DEFAULT CHARSET=utf8mb4")
    mysql(ddl)
    chunk = 250_000
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        mysql(
            f"USE {MY_DB}; INSERT INTO penduduk SELECT seq + {start}, LPAD(seq + {start}, 16, '3576'), "
            f"CONCAT(ELT(1 + seq % 5, 'Siti', 'Budi', 'Dewi', 'Agus', 'Sri'), ' ', ELT(1 + seq % 4, 'Rahayu', 'Santoso', 'Wijayanti', 'Nugroho'), ' ', seq + {start}, IF(seq % 7 = 0, ' Sémarang', '')), "
            "IF(seq % 2, 'L', 'P'), IF(seq % 20 = 1, NULL, DATE_ADD('1940-01-01', INTERVAL seq % 25000 DAY)), "
            "CONCAT('35.76.0', 1 + seq % 3, '.100', 1 + seq % 6), IF(seq % 20 = 2, NULL, CONCAT('Jl. Majapahit No. ', seq % 300, ', RT 0', seq % 9, ' RW 0', seq % 7)), "
            "ELT(1 + seq % 6, 'PNS', 'Wiraswasta', 'Petani', 'Pelajar', 'Karyawan Swasta', 'Belum Bekerja'), "
            "IF(seq % 20 = 3, NULL, ELT(1 + seq % 3, 'Kawin', 'Belum Kawin', 'Cerai Hidup')), "
            "IF(seq % 20 = 0, NULL, ROUND((seq * 7919) % 2000000000 / 100, 2)), "
            f"DATE_ADD('2024-01-01 00:00:00', INTERVAL seq + {start} SECOND), seq % 3 <> 0 "
            f"FROM seq_1_to_{n}"
        )


def fingerprint_source() -> str:
    return mysql(f"USE {MY_DB}; SELECT CONCAT_WS('|', COUNT(*), SUM(penghasilan), SUM(penghasilan IS NULL), "
                 "SUM(alamat IS NULL), DATE_FORMAT(MAX(updated_at), '%Y-%m-%d %H:%i:%s.%f')) FROM penduduk")


def fingerprint_pg(table: str) -> str:
    return psql(PG_DB, f"SELECT concat_ws('|', count(*), sum(penghasilan), count(*) FILTER (WHERE penghasilan IS NULL), "
                       f"count(*) FILTER (WHERE alamat IS NULL), to_char(max(updated_at), 'YYYY-MM-DD HH24:MI:SS.US')) FROM {table}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch-rows", type=int, default=20_000)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="pipe and full copy runs, taking turns (median reported)")
    ap.add_argument("--landing", action="store_true", help="also keep the raw batches as Avro (landing zone)")
    a = ap.parse_args()

    binary = benchlib.release_binary()
    WORK.mkdir(parents=True, exist_ok=True)

    t = time.perf_counter()
    create_source(a.rows)
    print(f"created {a.rows:,} rows in MariaDB in {time.perf_counter() - t:.1f}s")
    benchlib.fresh_pg_database(PG_DB)
    psql(PG_DB, "CREATE TABLE pipe_penduduk (id bigint PRIMARY KEY, nama text, jenis_kelamin text, tanggal_lahir date, "
                "kode_kelurahan text, alamat text, pekerjaan text, status_kawin text, penghasilan numeric(14,2), "
                "updated_at timestamp, aktif boolean)")
    landing = "true" if a.landing else "false"
    (WORK / "pipelines.toml").write_text(CONFIG.format(pg=PG_URL, my=MY_URL, batch_rows=a.batch_rows, landing=landing))
    # Warehouse schema and region list first, so the runs measure the copy.
    timed([str(binary), "status"])

    pipe = (f"mariadb -h 127.0.0.1 -u root {MY_DB} --quick --batch --skip-column-names -e 'SELECT {COLUMNS} FROM penduduk' "
            f"| psql -h 127.0.0.1 -U postgres -d {PG_DB} -c \"COPY pipe_penduduk FROM STDIN WITH (NULL 'NULL')\"")
    # The pipe and the full copy take turns, each from an empty table; medians are reported
    # (a COPY's checkpoint and WAL flushing can land on the run after it).
    pipes, fulls, full_rsss = [], [], []
    for _ in range(a.repeat):
        psql(PG_DB, "TRUNCATE pipe_penduduk")
        pipes.append(timed(["bash", "-c", pipe])[0])
        psql(PG_DB, "DROP TABLE IF EXISTS dw.penduduk")
        timed([str(binary), "reset", "penduduk", "--state"])
        full_s, full_rss, _ = timed([str(binary), "run", "penduduk", "--log", "warn"])
        fulls.append(full_s)
        full_rsss.append(full_rss)
    pipe_s, full_s, full_rss = statistics.median(pipes), statistics.median(fulls), max(full_rsss)
    spread = lambda xs: "/".join(f"{x:.1f}" for x in xs)
    src = fingerprint_source()
    copy = fingerprint_pg("dw.penduduk")
    piped = fingerprint_pg("pipe_penduduk")
    print("source  ", src, "\nsatu    ", copy, "\npipe    ", piped)
    if copy != src:
        sys.exit("the copy differs from the source")

    mysql(f"USE {MY_DB}; UPDATE penduduk SET penghasilan = penghasilan + 1, updated_at = DATE_ADD(updated_at, INTERVAL 1 YEAR) WHERE id % 100 = 0")
    inc_s, inc_rss, _ = timed([str(binary), "run", "penduduk", "--log", "warn"])
    if fingerprint_pg("dw.penduduk") != fingerprint_source():
        sys.exit("the incremental copy differs from the source")
    none_s, none_rss, _ = timed([str(binary), "run", "penduduk", "--log", "warn"])

    rows = a.rows
    lines = [
        f"| rows | {rows:,} (batch_rows {a.batch_rows:,}, landing {'on' if a.landing else 'off'}) |",
        f"| raw pipe `mariadb --batch \\| psql COPY` (median of {spread(pipes)} s) | {pipe_s:.1f} s, {rows / pipe_s:,.0f} rows/s |",
        f"| satu full copy (median of {spread(fulls)} s) | {full_s:.1f} s, {rows / full_s:,.0f} rows/s, **{pipe_s / full_s:.2f}× the pipe**, peak RSS {full_rss:.0f} MiB |",
        f"| satu incremental, 1 % changed ({rows // 100:,} rows) | {inc_s:.2f} s, peak RSS {inc_rss:.0f} MiB |",
        f"| satu incremental, nothing changed | {none_s:.2f} s |",
        f"| verified (count, sum penghasilan, NULLs, max updated_at) | `{src}` |",
    ]
    benchlib.report("mariadb-pg", lines, write=not a.no_write)


if __name__ == "__main__":
    main()
