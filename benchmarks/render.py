"""Render benchmark: a 50-article digest, template + MJML + text part.

    python benchmarks/render.py [--runs 50] [--articles 50]

Prints the median milliseconds of render() and of its steps, and the HTML size in bytes.
Targets: <= 10 ms and < 100,000 bytes (Gmail clips at about 102 KB). Prints, never asserts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from decimal import Decimal as D
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mjml import mjml2html  # noqa: E402

from digest import render as r  # noqa: E402
from digest.models import Digest, DigestItem, DigestSection, RateRow  # noqa: E402

DAY = dt.date(2025, 12, 8)
WORDS = (
    "Officials in Astana and Tashkent said on Monday that the new corridor would cut freight "
    "times by a third, open the route to Chinese and European carriers, and bring customs "
    "checks for rail cargo under one roof by the end of next year, pending approval by both "
    "parliaments and the regional development bank."
).split()


def digest(articles: int) -> Digest:
    items = tuple(
        DigestItem(
            f"Kazakhstan and Uzbekistan Agree on a New Trade Corridor, Part {i}",
            " ".join((WORDS * 2)[i % 5 : i % 5 + 40]),
            f"https://news.example.com/feeds/region-{i % 3}.xml",
            f"https://news.example.com/2025/12/08/trade-corridor-{i}/",
            DAY,
        )
        for i in range(articles)
    )
    rates = tuple(
        RateRow(pair, D(rate), D(change), D(inverse), approx, D(since), "seeds/000.txt", DAY)
        for pair, rate, change, inverse, approx, since in [
            ("KGS/USD", "0.01144", "0", "87.4", False, "0.1"),
            ("KZT/USD", "0.00196", "-0", "510", True, "-0.2"),
            ("TJS/USD", "0.10876", "0.55", "9.194", False, "0"),
            ("UZS/USD", "0.00008", "-0", "12500", True, "0"),
            ("TMT/USD", "0.28490", "0", "3.510", False, "0.3"),
        ]
    )
    sections = (DigestSection("Top stories", items[::2]), DigestSection("Region", items[1::2]))
    return Digest("Central Asia Daily", DAY, sections, rates, DAY, "seeds/000.txt")


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--articles", type=int, default=50)
    args = parser.parse_args()

    d = digest(args.articles)
    rendered = r.render(d)  # warms the cached Jinja environment and templates
    view = r.digest_view(d)
    env = r.jinja_env()
    mjml = env.get_template("digest.mjml.j2").render(view)
    html = mjml2html(mjml, fonts={})

    steps = {
        "render() total": lambda: r.render(d),
        "  view (clean, format)": lambda: r.digest_view(d),
        "  jinja -> MJML": lambda: env.get_template("digest.mjml.j2").render(view),
        "  mjml2html": lambda: mjml2html(mjml, fonts={}),
        "  minify": lambda: r.minify_html(html),
        "  jinja -> text part": lambda: env.get_template("digest.txt.j2").render(view),
    }
    print(f"{args.articles} articles, median of {args.runs} runs")
    for name, fn in steps.items():
        print(f"{name:26} {median_ms(fn, args.runs):7.2f} ms")
    print(f"{'HTML bytes':26} {len(rendered.html.encode()):7,}  (MJML in: {len(mjml.encode()):,})")
    print(f"{'text bytes':26} {len(rendered.text.encode()):7,}")


if __name__ == "__main__":
    main()
