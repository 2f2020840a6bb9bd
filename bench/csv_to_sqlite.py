#!/usr/bin/env python3
"""Benchmark: a large OPD CSV export into the embedded SQLite warehouse.

Generates a puskesmas-visit CSV of N rows (default 1,000,000; Indonesian numbers, month names,
messy kelurahan names, ~1% rows that must be rejected), runs `satu run` on it twice (first load,
then an unchanged rerun) with the release build, and reports rows/s and peak RSS. The figures are
written into bench/README.md between the csv-sqlite markers.

Usage: python3 bench/csv_to_sqlite.py [--rows N] [--batch-rows N] [--no-write]
Needs /usr/bin/time (Debian package `time`) for the peak RSS of each run.
"""

import argparse
import random
import shutil
import time
from pathlib import Path

import benchlib

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work" / "csv_sqlite"

KELURAHAN = ["Kel. Mentikan", "KAUMAN", "Pulorejo", "Prajurit Kulon", "Surodinawan", "Blooto",
             "Gunung Gedangan", "Magersari", "Gedongan", "Balongsari", "Kedundung", "Wates (Magersari)",
             "Kranggan", "Miji", "Meri", "Desa Jagalan", "Sentanan", "Purwotengah"]
MONTHS = ["Januari", "Pebruari", "Maret", "April", "Mei", "Juni", "Juli", "Agt", "September",
          "Oktober", "Nopember", "Des"]
AGES = [f"{a}-{a + 4}" for a in range(0, 60, 5)]

CONFIG = """
[warehouse]
url = "sqlite://warehouse.db"
[defaults]
batch_rows = {batch_rows}
[[organisation]]
code = "DINKES-3576"
name = "Dinas Kesehatan Kota Mojokerto"
[[dataset]]
slug = "kunjungan-harian"
title = "Kunjungan puskesmas harian"
opd = "DINKES-3576"
frequency = "harian"
[[indicator]]
code = "kes.kunjungan"
name = "Kunjungan puskesmas"
satuan = "kunjungan"
dimensi = ["jenis_kelamin", "jenis_kunjungan", "kelompok_umur"]
[[dimension]]
code = "jenis_kunjungan"
name = "Jenis kunjungan"
values = {{ BARU = "Baru", LAMA = "Lama" }}
[[dimension]]
code = "kelompok_umur"
name = "Kelompok umur"
values = {{ {ages} }}
[[pipeline]]
name = "bench"
opd = "DINKES-3576"
landing = {landing}
source = {{ type = "csv", path = "kunjungan.csv", delimiter = ";" }}
[pipeline.target]
dataset = "kunjungan-harian"
indikator = "kes.kunjungan"
wilayah = {{ column = "kelurahan", level = "kelurahan", within = "35.76" }}
periode = {{ column = "tanggal" }}
nilai = {{ column = "jumlah", integer = true }}
dimensi = {{ jenis_kelamin = "jk", jenis_kunjungan = "jenis", kelompok_umur = "umur" }}
"""


def generate(path: Path, rows: int) -> None:
    rnd = random.Random(3576)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("kelurahan;tanggal;jk;jenis;umur;jumlah\r\n")
        n = 0
        year = 2000
        while n < rows:
            for m, month in enumerate(MONTHS):
                for day in range(1, 29):
                    for kel in KELURAHAN:
                        for jk in ("L", "P"):
                            for jenis in ("BARU", "LAMA"):
                                for umur in AGES:
                                    if n >= rows:
                                        return
                                    v = rnd.randint(0, 2500)
                                    value = f"{v:,}".replace(",", ".")
                                    if n % 100 == 99:
                                        value = "3O"  # rejected: not a number
                                    f.write(f"{kel};{day} {month} {year};{jk};{jenis};{umur};{value}\r\n")
                                    n += 1
            year += 1


def run(binary: Path, args: list) -> tuple:
    """Runs satu in the work directory; returns (seconds, peak RSS MiB, stdout)."""
    return benchlib.timed([str(binary), *args], WORK)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--batch-rows", type=int, default=10_000)
    ap.add_argument("--no-write", action="store_true", help="do not update bench/README.md")
    ap.add_argument("--no-landing", action="store_true", help="do not keep the raw batches (landing = false)")
    a = ap.parse_args()

    binary = benchlib.release_binary()

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    ages = ", ".join(f'"{a}" = "{a} tahun"' for a in AGES)
    landing = "false" if a.no_landing else "true"
    (WORK / "pipelines.toml").write_text(CONFIG.format(batch_rows=a.batch_rows, ages=ages, landing=landing))
    t = time.perf_counter()
    generate(WORK / "kunjungan.csv", a.rows)
    size_mb = (WORK / "kunjungan.csv").stat().st_size / 1e6
    print(f"generated {a.rows:,} rows ({size_mb:.1f} MB) in {time.perf_counter() - t:.1f}s")

    # Create the warehouse and load the region list first, so the runs measure the pipeline.
    run(binary, ["status"])
    first, rss1, table1 = run(binary, ["run", "bench", "--log", "warn"])
    second, rss2, table2 = run(binary, ["run", "bench", "--log", "warn"])
    print(table1, table2, sep="\n")
    lines = [
        f"| rows | {a.rows:,} ({size_mb:.1f} MB CSV, batch_rows {a.batch_rows:,}, landing {'off' if a.no_landing else 'on'}) |",
        f"| first load | {first:.1f} s, {a.rows / first:,.0f} rows/s |",
        f"| unchanged rerun | {second:.1f} s, {a.rows / second:,.0f} rows/s |",
        f"| peak RSS | first load {rss1:.0f} MiB, rerun {rss2:.0f} MiB |",
    ]
    benchlib.report("csv-sqlite", lines, write=not a.no_write)


if __name__ == "__main__":
    main()
