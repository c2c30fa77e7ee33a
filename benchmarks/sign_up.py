"""Does the sign-up form's answer time tell whether an address is on the list? `digest serve`
on loopback (the tests' server, outbox delivery), N addresses already reading; then rounds of
sign-ups, a new address and a known one in turn (which first alternates by round), each from
a client address of its own (the per-client limit), each after the last one's confirmation
mail is made (REPLY_FIRST and more), so that each answer is timed alone.

    .venv/bin/python benchmarks/sign_up.py [--known 40] [--rounds 3]

Prints the median answer time of each kind; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from test_web import Server  # noqa: E402

from digest.state import Store  # noqa: E402
from digest.web import Mailer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--known", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder))
        try:
            for n in range(args.known):
                server.sign_up(f"known{n}@example.org", client=f"127.0.1.{n + 1}")
            time.sleep(Mailer.REPLY_FIRST * 2)
            with Store.open(Path(folder) / "state.sqlite3") as store:
                readers = store.readers()
                for n in range(args.known):
                    readers.confirm(readers.get(f"known{n}@example.org").token, made=2**40)
            times: dict[str, list[float]] = {"new": [], "known": []}
            for r in range(args.rounds):
                for n in range(args.known):
                    client = f"127.0.{2 + r}.{n + 1}"
                    csrf, cookie = server.form("/subscribe", client)
                    pair = [("new", f"new{r}-{n}@example.org"), ("known", f"known{n}@example.org")]
                    for kind, address in pair if r % 2 == 0 else pair[::-1]:
                        body = urlencode({"csrf": csrf, "email": address})
                        t = time.perf_counter()
                        status, _, _ = server.request(
                            "POST", "/subscribe", body, {"Cookie": cookie}, client
                        )
                        times[kind].append(time.perf_counter() - t)
                        assert status == 200, status
                        time.sleep(Mailer.REPLY_FIRST + 0.1)
            for kind, seconds in times.items():
                print(
                    f"{kind:>5} address: median {1e3 * statistics.median(seconds):.2f} ms "
                    f"({len(seconds)} sign-ups)"
                )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
