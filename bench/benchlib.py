"""What the benchmark scripts share: the release binary, timed runs with their peak RSS, the
database clients, and writing results into bench/README.md between a script's markers."""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def release_binary() -> Path:
    """Builds the release `satu` and returns its path."""
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "satu"], cwd=ROOT, check=True)
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "satu"


def timed(cmd: list, cwd: Path, env=None) -> tuple:
    """Runs cmd in cwd under /usr/bin/time; returns (seconds, peak RSS MiB, stdout). Exits on failure."""
    rss = cwd / "rss.txt"
    start = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss), *cmd], cwd=cwd, capture_output=True,
                         text=True, env=env)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    return elapsed, int(rss.read_text().split()[-1]) / 1024, out.stdout


def sh(cmd: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True, **kw)


def psql(db: str, sql: str) -> str:
    return sh(f"psql -h 127.0.0.1 -U postgres -d {db} -tA -v ON_ERROR_STOP=1 -c \"{sql}\"").stdout.strip()


def fresh_pg_database(db: str) -> None:
    sh(f"psql -h 127.0.0.1 -U postgres -d postgres -c 'DROP DATABASE IF EXISTS {db} WITH (FORCE)'")
    sh(f"psql -h 127.0.0.1 -U postgres -d postgres -c 'CREATE DATABASE {db}'")


def report(marker: str, lines: list, write: bool) -> None:
    """Prints a script's result rows with the machine's row added, and writes them into
    bench/README.md between its markers when `write`."""
    lines = [*lines, f"| machine | {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')} |"]
    print("\n".join(lines))
    if write:
        write_results(marker, lines)


def write_results(marker: str, lines: list) -> None:
    """Replaces the table between `<!-- marker:begin -->` and `<!-- marker:end -->` in bench/README.md."""
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text()
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(head + begin + "\n| measure | result |\n|---|---|\n" + "\n".join(lines) + "\n" + end + tail)
