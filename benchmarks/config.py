"""Config benchmark: loading and checking the shipped config/digest.yaml (and a big one).

    python benchmarks/config.py [--runs 200] [--sources 500]

Prints the median milliseconds of load_config() for the shipped file and for one with
--sources page-snapshot sources (each a mapping with name, link and rules), and how long
importing digest.config takes. Prints, never asserts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

started = time.perf_counter()
from digest.config import load_config  # noqa: E402

IMPORT_MS = (time.perf_counter() - started) * 1000


def median_ms(path: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        load_config(path)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def big_config(folder: Path, sources: int) -> Path:
    (folder / "pages").mkdir()
    lines = ["title: Big Daily", "sources:"]
    for i in range(sources):
        (folder / "pages" / f"{i}.txt").write_text("08 December 2025\n")
        lines += [
            f"  - path: pages/{i}.txt",
            f"    name: Source {i}",
            f"    link: https://s{i}.example/",
            "    include: [Kazakhstan, /wind\\s+farm/i]",
            "    max_per_source: 3",
        ]
    lines += ["delivery:", "  to: [a@example.com, b@example.com]"]
    path = folder / "digest.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--sources", type=int, default=500)
    args = parser.parse_args()
    shipped = ROOT / "config" / "digest.yaml"
    print(f"import digest.config: {IMPORT_MS:.1f} ms")
    print(f"load_config(config/digest.yaml): {median_ms(shipped, args.runs):.2f} ms (median)")
    with tempfile.TemporaryDirectory() as folder:
        path = big_config(Path(folder), args.sources)
        runs = max(args.runs // 20, 3)
        print(f"load_config({args.sources} sources): {median_ms(path, runs):.1f} ms (median)")


if __name__ == "__main__":
    main()
