"""Benchmark: a file import end to end, against the pre-streaming import and a bare COPY of the same file.

    .venv/bin/python bench/imports.py [--rows 200000,2000000] [--old-rev 3cab5f8] [--old-max-rows 200000]
                                      [--prev-rev c5ba52c] [--prev-max-rows 200000]

Generates deterministic ads CSV files in the `online_ads` format (the public dataset's columns and
mapping, `mappings/online_ads.yml`: ~62 bytes a row, so 200k rows ~ 12 MB) in a temp dir, and
imports each into its own fresh migrated scratch database (on DATABASE_URL's server when set,
else a throwaway embedded PostgreSQL). Side by side, each in its own process (wall seconds, rows/s
and the process's peak RSS from getrusage):
  - new: `assets.imports.write.import_file`, the engine `burry import` and the drop folder run;
  - old: the same function as it was at `--old-rev` (the whole file parsed into memory, then
    written with execute_values), loaded from git; only up to `--old-max-rows` rows;
  - prev: (with `--prev-rev`) the same function at another revision, e.g. the streaming import as
    it was before it wrote chunk by chunk (c5ba52c); only up to `--prev-max-rows` rows;
  - floor: a bare `COPY ... FROM STDIN (FORMAT csv)` of the same file into an untyped temp table.
Checks that new, old and prev load the same rows (count, cost sums) and exits 1 if not.
"""

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import psycopg2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from orchestration import migrate  # noqa: E402
from resources import settings  # noqa: E402
from resources.database_url import DatabaseUrl  # noqa: E402
from resources.embedded_postgres import EmbeddedPostgres  # noqa: E402

HEADER = (
    "month,day,campaign_number,user_engagement,banner,placement,displays,cost,clicks,revenue,"
    "post_click_conversions,post_click_sales_amount,,\n"
)
MONTHS = (("April", 30), ("May", 31), ("June", 30))
ENGAGEMENTS = ("High", "Medium", "Low")
BANNERS = ("160 x 600", "240 x 400", "300 x 250", "468 x 60", "580 x 400", "670 x 90", "728 x 90", "800 x 250")
PLACEMENTS = ("abc", "def", "ghi", "jkl", "mno")
OLD_MODULES = ("mapping", "parse", "stage", "changes", "write")  # those a revision has, in import order


def generate(path: Path, rows: int, seed: int = 10) -> None:
    """`rows` distinct rows (day x campaign x engagement x banner x placement), day by day as the dataset is."""
    rng = random.Random(seed)
    days = [(month, day) for month, length in MONTHS for day in range(1, length + 1)]
    per_campaign = len(ENGAGEMENTS) * len(BANNERS) * len(PLACEMENTS)
    campaigns = -(-rows // (len(days) * per_campaign))
    ads = [
        (f"camp {c}", e, b, p)
        for c in range(1, campaigns + 1)
        for e in ENGAGEMENTS
        for b in BANNERS
        for p in PLACEMENTS
    ]
    per_day = -(-rows // len(days))
    written = 0
    with path.open("w", newline="") as f:
        f.write(HEADER)
        for month, day in days:
            lines = []
            for campaign, engagement, banner, placement in ads[: min(per_day, rows - written)]:
                displays = rng.randint(0, 40000)
                clicks = rng.randint(0, displays // 50 + 1)
                cost = displays * rng.random() * 0.002
                conversions = rng.randint(0, clicks // 4 + 1)
                lines.append(
                    f"{month},{day},{campaign},{engagement},{banner},{placement},{displays},{cost:.4f},{clicks},"
                    f"{cost * 1.1:.4f},{conversions},{conversions * 47.5:.4f},,\n"
                )
            f.writelines(lines)
            written += len(lines)


# -- the measured processes ----------------------------------------------------------------------
def load_old_engine(rev: str) -> types.ModuleType:
    """assets/imports/{mapping,parse,stage,changes,write}.py as they were at `rev` (those it has),
    under their own names."""
    import assets.imports  # noqa: F401  (the package; its modules are replaced below)

    for name in OLD_MODULES:
        shown = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{rev}:assets/imports/{name}.py"], capture_output=True, text=True
        )
        if shown.returncode:
            continue  # not there yet at that revision
        source = shown.stdout
        module = types.ModuleType(f"assets.imports.{name}")
        module.__file__ = f"<{rev}:assets/imports/{name}.py>"
        sys.modules[module.__name__] = module
        exec(compile(source, module.__file__, "exec"), module.__dict__)
    return sys.modules["assets.imports.write"]


def child(mode: str, file: Path, url: str, rev: str) -> None:
    """One measurement in this process; prints a JSON line."""
    if mode == "copy":
        started = time.perf_counter()
        conn = psycopg2.connect(url)
        with conn, conn.cursor() as cur, file.open() as f:
            width = len(f.readline().rstrip("\n").split(","))
            f.seek(0)
            cur.execute(f"CREATE TEMP TABLE floor ({', '.join(f'c{i} text' for i in range(width))})")
            cur.copy_expert("COPY floor FROM STDIN WITH (FORMAT csv, HEADER true)", f)
            cur.execute("SELECT count(*) FROM floor")
            loaded = cur.fetchone()[0]
        conn.close()
        wall = time.perf_counter() - started
    else:
        write = load_old_engine(rev) if mode in ("old", "prev") else None
        from assets.imports.mapping import load_mapping
        from resources.database import connect
        from resources.database_url import DatabaseUrl

        if write is None:
            from assets.imports import write as new_write

            write = new_write
        mapping = load_mapping(settings.MAPPINGS_DIR / "online_ads.yml")
        started = time.perf_counter()
        options = {} if mode == "old" else {"progress": lambda line: print(line, file=sys.stderr, flush=True)}
        summary = write.import_file(lambda: connect(DatabaseUrl.parse(url)), file, mapping, **options)
        wall = time.perf_counter() - started
        loaded = summary.rows_loaded
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"mode": mode, "wall": wall, "loaded": loaded, "peak_mib": peak_mib}))


def measure(mode: str, file: Path, url: DatabaseUrl, rev: str) -> dict:
    command = [
        sys.executable,
        "-u",
        __file__,
        "--child",
        mode,
        "--file",
        str(file),
        "--url",
        url.libpq,
        "--old-rev",
        rev,
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if result.returncode:
        raise SystemExit(f"{mode} failed:\n{result.stdout}\n{result.stderr}")
    progress = [line for line in result.stderr.splitlines() if line.strip()]
    if progress:
        print(f"    {mode}: last progress line: {progress[-1].strip()}", flush=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- scratch databases -----------------------------------------------------------------------------
class Scratch:
    """Databases on DATABASE_URL's server, else on a throwaway embedded server; each a copy of one migrated template."""

    def __init__(self):
        external = settings.external_database_url()
        self.server = self.base = None
        if external:
            self.admin = DatabaseUrl.parse(external)
        else:
            self.base = Path(tempfile.mkdtemp(prefix="burry-b-", dir="/var/tmp"))
            self.server = EmbeddedPostgres(self.base / "pg")
            self.admin = self.server.start().with_database("postgres")
        self.conn = psycopg2.connect(self.admin.libpq)
        self.conn.autocommit = True
        self.made: list[str] = []
        self.template = self.create()
        migrate.upgrade(self.template)

    def create(self, template: DatabaseUrl | None = None) -> DatabaseUrl:
        name = f"bench_{os.getpid()}_{len(self.made)}"
        with self.conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template.url.database}"' if template else ""))
        self.made.append(name)
        return self.admin.with_database(name)

    def fingerprint(self, url: DatabaseUrl) -> tuple:
        with psycopg2.connect(url.libpq) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT (SELECT count(*) FROM raw.ad_daily_metrics), (SELECT sum(cost_micros) FROM "
                "raw.ad_daily_metrics), (SELECT sum(cost_micros) FROM raw.campaign_daily_metrics), "
                "(SELECT count(*) FROM app.import_changes)"
            )
            found = cur.fetchone()
        conn.close()
        return found

    def close(self) -> None:
        with self.conn.cursor() as cur:
            for name in reversed(self.made):
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.conn.close()
        if self.server:
            self.server.stop()
            shutil.rmtree(str(self.base), ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="200000,2000000", help="file sizes in rows, comma-separated")
    parser.add_argument("--old-rev", default="3cab5f8", help="git revision of the pre-streaming import")
    parser.add_argument("--old-max-rows", type=int, default=200000, help="run the old import up to this size")
    parser.add_argument("--prev-rev", help="another revision to measure side by side (e.g. c5ba52c)")
    parser.add_argument("--prev-max-rows", type=int, default=200000, help="run the prev import up to this size")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file, args.url, args.old_rev)
        return 0

    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    folder = Path(tempfile.mkdtemp(prefix="burry-bench-imports-"))
    scratch = Scratch()
    results = []
    ok = True
    try:
        for rows in (int(n) for n in args.rows.split(",")):
            file = folder / f"ads_{rows}.csv"
            started = time.perf_counter()
            generate(file, rows)
            size = file.stat().st_size / 1e6
            print(f"{file.name}: {rows:,} rows, {size:.1f} MB ({time.perf_counter() - started:.1f} s)", flush=True)
            modes = ["copy", "new"] + (["old"] if rows <= args.old_max_rows else [])
            if args.prev_rev and rows <= args.prev_max_rows:
                modes.append("prev")
            found = {}
            for mode in modes:
                url = scratch.create(scratch.template)
                print(f"  {mode} ...", flush=True)
                result = measure(mode, file, url, args.prev_rev if mode == "prev" else args.old_rev)
                if mode != "copy":
                    found[mode] = scratch.fingerprint(url)[:3]
                results.append({"rows": rows, "mb": size, **result})
            for mode in found.keys() - {"new"}:
                if found[mode] != found["new"]:
                    print(f"  DIFFERENT: new {found['new']} {mode} {found[mode]}")
                    ok = False
            file.unlink()
    finally:
        scratch.close()
        shutil.rmtree(folder, ignore_errors=True)

    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    print(f"\n{os.cpu_count()} CPUs ({cpu}); wall s of the import call, rows/s, peak RSS of its process")
    print(f"load average before / after: {load_before} / {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'rows':>10} {'MB':>6} {'path':>6} {'wall s':>8} {'rows/s':>9} {'peak MiB':>9} {'loaded':>10}")
    for r in results:
        print(
            f"{r['rows']:>10,} {r['mb']:>6.1f} {r['mode']:>6} {r['wall']:>8.2f} {r['rows'] / r['wall']:>9,.0f} "
            f"{r['peak_mib']:>9.0f} {r['loaded']:>10,}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
