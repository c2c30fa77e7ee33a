"""Any value at any key of the configuration is the config error naming file, line and key,
or a working config: never a traceback (hypothesis, over every key the schema has)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.config import load_config
from digest.config import settings as schema
from digest.errors import ConfigError

KEYS = sorted(dotted for dotted, _, check in schema() if check is not None)
TAGS = ["", "!!str ", "!!int ", "!!float ", "!!bool ", "!!null ", "!!timestamp ", "!!binary "]
TAGS += ["!!set ", "!!omap ", "!!python/object:os.system ", "!custom "]
VALUES = [
    "abc", "0x", "1,5", "maybe", "2026-02-30", "2026-12-07", "2001-12-14t21:59:43.10-05:00",
    "-1", "0", "1e400", ".nan", "-.inf", "99999999999999999999999", "''", '"\\0"', "~", "[]",
    "{}", "[1, [2]]", "{a: {b: c}}", "'${UNSET_FUZZ_VARIABLE}/x'", "'http://[::1'", "ftp://x/y",
    "'0 7 31 2 *'", "Asia/Almaty", "all", "https://news.example/", "a@example.com",
    "'bounces+{token}@example.com'", "'x' " * 3, "'" + "x" * 5000 + "'",
]  # fmt: skip


def config_text(dotted: str, raw: str) -> str:
    """A config with `raw` (YAML as written) at the key `dotted` ("sources.name": a source's)."""
    *parents, key = dotted.split(".")
    if parents == ["sources"]:
        return f"sources:\n  - path: pages/*.txt\n    {key}: {raw}\n"
    nested = "".join(f"{'  ' * n}{p}:\n" for n, p in enumerate(parents))
    sources = "" if dotted == "sources" else "sources: [pages/*.txt]\n"
    return sources + nested + f"{'  ' * len(parents)}{key}: {raw}\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(KEYS), st.sampled_from(TAGS), st.sampled_from(VALUES))
def test_any_value_at_any_key_is_a_config_error_or_a_config(dotted, tag, value):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "pages").mkdir()
        (Path(folder) / "pages" / "a.txt").write_text("08 December 2025\n")
        path = Path(folder) / "digest.yaml"
        path.write_text(config_text(dotted, tag + value))
        try:
            load_config(path)
        except ConfigError as e:
            assert e.path and e.line, str(e)  # named where it is written
