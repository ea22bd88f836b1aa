"""`python -m bench.attachments` (`make bench-attachments`): what attachments cost (issue 22).

- upload: an 8-megapixel phone photo (3264 × 2448 JPEG with EXIF, GPS and a thumbnail) decoded, turned upright
  and re-encoded by forum.services.uploads.process, the work of the request; goal under 1 s;
- OCR: pictures read per second by one worker (tesseract `nor+eng`, one thread), on a generated payslip
  screenshot; off the request path, so no goal, but it sizes the workers;
- storage: writing and reading the re-encoded photo's bytes as a BLOB in the SQLite database (WAL,
  synchronous=NORMAL, as the forum runs) against a file beside it (write, fsync, rename), and, with
  --database-url, as bytea in PostgreSQL. The README's "Attachments: where the bytes are" cites these numbers;
- the topic page with pictures (`--topic-page N` requests per case, bench/attachments_page.py): 20 posts with 5
  pictures against the same page without files, anonymous and signed in, CPU per request and SQL statements.
Each timing is the best (and the median) of `--repeat` runs; wall and CPU time are both printed, since the
machine may be shared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from forum.services.uploads import process
from tests import attachment_images as imgs

UPLOAD_GOAL_S = 1.0


def timed(fn, repeat: int) -> tuple[float, float, float]:
    """Best wall, median wall and best CPU time, in seconds."""
    walls, cpus = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - started_cpu)
    return min(walls), statistics.median(walls), min(cpus)


def storage_sqlite(data: bytes, repeat: int, folder: Path) -> tuple[tuple, tuple]:
    conn = sqlite3.connect(folder / "blob.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, data BLOB)")
    counter = iter(range(1, 10_000))

    def write():
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO a (id, data) VALUES (?, ?)", (next(counter), data))
        conn.execute("COMMIT")

    def read():
        assert len(conn.execute("SELECT data FROM a WHERE id = 1").fetchone()[0]) == len(data)

    return timed(write, repeat), timed(read, repeat)


def storage_files(data: bytes, repeat: int, folder: Path) -> tuple[tuple, tuple]:
    counter = iter(range(1, 10_000))

    def write():
        n = next(counter)
        part = folder / f".{n}.partial"
        with open(part, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        part.rename(folder / f"{n}.jpg")

    def read():
        assert len((folder / "1.jpg").read_bytes()) == len(data)

    return timed(write, repeat), timed(read, repeat)


def storage_postgres(data: bytes, repeat: int, url: str) -> tuple[tuple, tuple]:
    import asyncpg

    async def run():
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("DROP TABLE IF EXISTS bench_attachment")
            await conn.execute("CREATE TABLE bench_attachment (id serial PRIMARY KEY, data bytea)")
            walls_w, walls_r = [], []
            for _ in range(repeat):
                started = time.perf_counter()
                await conn.execute("INSERT INTO bench_attachment (data) VALUES ($1)", data)
                walls_w.append(time.perf_counter() - started)
            for _ in range(repeat):
                started = time.perf_counter()
                await conn.fetchval("SELECT data FROM bench_attachment ORDER BY id LIMIT 1")
                walls_r.append(time.perf_counter() - started)
            await conn.execute("DROP TABLE bench_attachment")
            return ((min(walls_w), statistics.median(walls_w), float("nan")),
                    (min(walls_r), statistics.median(walls_r), float("nan")))
        finally:
            await conn.close()

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.attachments", description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--ocr", type=int, default=5, help="pictures to read for the OCR throughput (0: skip)")
    parser.add_argument("--database-url", default="", help="a scratch PostgreSQL database for the bytea case")
    parser.add_argument("--topic-page", type=int, default=200,
                        help="requests per case for the topic page with and without pictures (0: skip)")
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores, best and median of {args.repeat}\n")
    photo = imgs.photo_8mp()
    stored = process(photo, "photo.jpg", max_bytes=50_000_000, max_pixels=50_000_000)
    best, median, cpu = timed(lambda: process(photo, "photo.jpg", max_bytes=50_000_000, max_pixels=50_000_000),
                              args.repeat)
    met = best < UPLOAD_GOAL_S
    print("| case | best (s) | median (s) | CPU (s) | goal | met |\n|---|---:|---:|---:|---|---|")
    print(f"| upload: 8 MP photo ({len(photo) / 1e6:.1f} MB in, {len(stored.data) / 1e6:.1f} MB stored) | "
          f"{best:.3f} | {median:.3f} | {cpu:.3f} | < {UPLOAD_GOAL_S:.0f} s | {'yes' if met else 'NO'} |")
    if args.ocr:
        from forum.services.ocr import read_text

        payslip = imgs.payslip()
        started = time.perf_counter()
        for _ in range(args.ocr):
            read_text(payslip)
        each = (time.perf_counter() - started) / args.ocr
        print(f"| OCR: payslip screenshot, one worker | {each:.3f} per picture | | | "
              f"{1 / each:.2f} pictures/s | |")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = [("SQLite BLOB (WAL, synchronous=NORMAL)", storage_sqlite(stored.data, args.repeat * 4, folder)),
                 ("file beside the database (fsync, rename)", storage_files(stored.data, args.repeat * 4, folder))]
    if args.database_url:
        cases.append(("PostgreSQL bytea", storage_postgres(stored.data, args.repeat * 4, args.database_url)))
    print(f"\nstorage of the stored photo ({len(stored.data) / 1e6:.2f} MB), best and median of {args.repeat * 4}\n")
    print("| store | write best (ms) | write median (ms) | read best (ms) | read median (ms) |")
    print("|---|---:|---:|---:|---:|")
    for name, (write, read) in cases:
        print(f"| {name} | {write[0] * 1000:.1f} | {write[1] * 1000:.1f} | {read[0] * 1000:.1f} | "
              f"{read[1] * 1000:.1f} |")
    if args.topic_page:
        from bench import attachments_page

        results = asyncio.run(attachments_page.run(args.topic_page))
        print(f"\ntopic page with and without pictures, in process, {args.topic_page} requests each\n")
        print(attachments_page.report(results))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
