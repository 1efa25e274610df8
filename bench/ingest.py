"""Benchmark reading a ~100 MB CSV into the digest the model reads, against plain pandas.

What is measured
    A seeded CSV of about 100 MB with mixed columns (dates, categories, ids, integers, decimals
    with gaps, free text) is written to a temporary folder. Then, each in a fresh child process
    so their peak memory does not mix:

    * digest: what generation does with an upload: ``app.ingest.ingest(filename, bytes,
      limits)`` (file limits raised to fit the file) and ``render_digest([file], budget)`` with
      the default DIGEST_TOKEN_BUDGET;
    * baseline: ``pandas.read_csv(path)`` with its defaults.

    The ratio digest / baseline has a target of at most 3. The digest's size is counted in
    tokens the way the code budgets it (``CHARS_PER_TOKEN`` = 4 characters a token), target at
    most 2,000 a file; the size of the file's section without any budget is shown too. Peak
    memory is each child's maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from harness import REPO

from app.ingest import IngestLimits, ingest, render_digest
from app.ingest.digest_text import CHARS_PER_TOKEN, render_file
from app.settings import SETTINGS

SEED = 20261124
TARGET_RATIO = 3.0
TARGET_TOKENS = 2000
WORDS = (
    "late delivery invoice refund damaged box courier great service slow reply missing item "
    "order status portal login error thanks quick fix renewal price discount upgrade training "
    "onboarding report export dashboard outage warehouse pallet customs contract"
).split()


def make_csv(path: Path, megabytes: float) -> tuple[int, int]:
    """Write a seeded CSV of about ``megabytes`` MB; return its rows and bytes."""
    rng = np.random.default_rng(SEED)
    rows_per_chunk = 25_000
    written, rows, first = 0, 0, True
    target = megabytes * 1024 * 1024
    regions = np.array(["North", "South", "East", "West", "Central", "Nordics", "Iberia", "DACH"])
    products = np.array([f"Product {i:02d}" for i in range(40)])
    statuses = np.array(["open", "shipped", "delivered", "returned", "cancelled"])
    words = np.array(WORDS)
    with path.open("w", encoding="utf-8", newline="") as out:
        while written < target:
            n = rows_per_chunk
            quantity = rng.integers(1, 500, n)
            price = np.round(rng.lognormal(3.5, 0.8, n), 2)
            discount = np.round(rng.uniform(0, 0.3, n), 3)
            discount[rng.random(n) < 0.15] = np.nan
            picks = rng.integers(0, len(words), (n, 6))
            lengths = rng.integers(2, 7, n)
            comments = [" ".join(words[p[:k]]) for p, k in zip(picks, lengths, strict=True)]
            frame = pd.DataFrame(
                {
                    "order_id": np.arange(rows, rows + n) + 100_000,
                    "order_date": (
                        np.datetime64("2022-01-01") + rng.integers(0, 1460, n).astype("m8[D]")
                    ),
                    "region": regions[rng.integers(0, len(regions), n)],
                    "product": products[rng.zipf(1.6, n).clip(1, len(products)) - 1],
                    "customer": [f"C-{c:06d}" for c in rng.integers(0, 50_000, n)],
                    "quantity": quantity,
                    "unit_price": price,
                    "discount": discount,
                    "revenue": np.round(quantity * price * (1 - np.nan_to_num(discount)), 2),
                    "status": statuses[rng.integers(0, len(statuses), n)],
                    "comment": comments,
                }
            )
            text = frame.to_csv(index=False, header=first)
            out.write(text)
            written += len(text)
            rows += n
            first = False
    return rows, path.stat().st_size


def child(kind: str, path: Path) -> dict[str, Any]:
    """Run one measurement in this (fresh) process; return its figures."""
    started = time.perf_counter()
    result: dict[str, Any] = {}
    if kind == "baseline":
        frame = pd.read_csv(path)
        result["rows"] = len(frame)
    else:
        data = path.read_bytes()
        limits = IngestLimits(max_file_bytes=len(data) + 1, max_rows=10_000_000)
        budget = next(s.default for s in SETTINGS if s.name == "DIGEST_TOKEN_BUDGET")
        file = ingest(path.name, data, limits)
        digest = render_digest([file], budget)
        result["seconds_to_file"] = time.perf_counter() - started
        result["tokens"] = len(digest) // CHARS_PER_TOKEN
        result["unbudgeted_tokens"] = len(render_file(file, 10**9)) // CHARS_PER_TOKEN
        result["budget"] = budget
        result["rows"] = sum(len(t.frame) for t in file.tables)
    result["seconds"] = time.perf_counter() - started
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def run_child(kind: str, path: Path, timeout: float) -> dict[str, Any]:
    answer = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, __file__, "--child", kind, str(path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
        cwd=REPO,
    )
    figures: dict[str, Any] = json.loads(answer.stdout.strip().splitlines()[-1])
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100, help="size of the CSV in MB")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, interleaved")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sitewright-bench-") as folder:
        path = Path(folder) / "orders.csv"
        rows, size = make_csv(path, args.mb)
        print(f"wrote {size / 1e6:.1f} MB, {rows:,} rows in {time.perf_counter() - started:.0f} s")
        runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "digest": []}
        for _ in range(args.repeat):
            for kind in runs:
                runs[kind].append(run_child(kind, path, timeout=300))
                if runs[kind][-1]["rows"] != rows:
                    raise SystemExit(f"{kind} read {runs[kind][-1]['rows']} rows of {rows}")
    base = statistics.median(r["seconds"] for r in runs["baseline"])
    digest = statistics.median(r["seconds"] for r in runs["digest"])
    last = runs["digest"][-1]
    print(f"\nmedian of {args.repeat} runs, each in a fresh process")
    print(
        f"pandas.read_csv      {base:6.2f} s   peak {runs['baseline'][-1]['peak_mb']:6.0f} MB\n"
        f"ingest+render_digest {digest:6.2f} s   peak {last['peak_mb']:6.0f} MB "
        f"(ingest {statistics.median(r['seconds_to_file'] for r in runs['digest']):.2f} s)\n"
        f"ratio digest/read_csv {digest / base:5.2f}x  (target <= {TARGET_RATIO:g}) "
        f"{'ok' if digest / base <= TARGET_RATIO else 'MISSED'}\n"
        f"digest tokens (chars/{CHARS_PER_TOKEN}) {last['tokens']:,} for 1 file with budget "
        f"{last['budget']:,}; unbudgeted section {last['unbudgeted_tokens']:,} "
        f"(target <= {TARGET_TOKENS:,}) {'ok' if last['tokens'] <= TARGET_TOKENS else 'MISSED'}"
    )
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
