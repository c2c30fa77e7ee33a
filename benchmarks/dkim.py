"""What DKIM signing costs a message: the real digest of the shipped sample pages, each
message made for its reader (MessageMaker.bytes_for) unsigned, signed with a 2048-bit RSA key
and with an Ed25519 key by digest/dkim_sign.py (OpenSSL through `cryptography`), and signed by
dkimpy's own pure-Python RSA (what digest used before), for comparison.

    .venv/bin/python benchmarks/dkim.py [--messages 300] [--rounds 5]

Prints the median milliseconds per message of each, over interleaved rounds.
"""

from __future__ import annotations

import os
import sys

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(__file__)]

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa  # noqa: E402

from digest import message as mime  # noqa: E402
from digest.config import DkimConfig, load_config  # noqa: E402


def pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"load before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)")
    from digest.pipeline import prepare
    from digest.state import Store

    config = load_config(ROOT / "config" / "digest.yaml")
    with Store.for_config(config, readonly=True) as store:
        rendered = prepare(config, store).rendered
    with tempfile.TemporaryDirectory() as tmp:
        rsa_file, ed_file = Path(tmp, "rsa.pem"), Path(tmp, "ed.pem")
        rsa_file.write_bytes(pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
        ed_file.write_bytes(pem(ed25519.Ed25519PrivateKey.generate()))
        makers = {
            "unsigned": mime.MessageMaker(rendered, config.delivery),
            "RSA-2048": mime.MessageMaker(
                rendered,
                dataclasses.replace(
                    config.delivery, dkim=DkimConfig("example.com", "digest", rsa_file)
                ),
            ),
            "Ed25519": mime.MessageMaker(
                rendered,
                dataclasses.replace(
                    config.delivery, dkim=DkimConfig("example.com", "digest", ed_file)
                ),
            ),
        }
        import dkim

        key = rsa_file.read_bytes()
        unsigned = makers["unsigned"]
        size = len(unsigned.bytes_for("reader@example.com", "t" * 32))
        print(f"{size:,} bytes a message, {args.messages} messages a round, {args.rounds} rounds")
        times: dict[str, list[float]] = {k: [] for k in [*makers, "dkimpy RSA-2048"]}
        for _ in range(args.rounds):
            for name, maker in makers.items():
                start = time.perf_counter()
                for n in range(args.messages):
                    maker.bytes_for(f"reader{n}@example.com", f"{n:032d}")
                times[name].append((time.perf_counter() - start) / args.messages * 1000)
            start = time.perf_counter()
            for n in range(max(args.messages // 10, 1)):
                data = unsigned.bytes_for(f"reader{n}@example.com", f"{n:032d}")
                dkim.sign(
                    data, b"digest", b"example.com", key, canonicalize=(b"relaxed", b"simple")
                )
            times["dkimpy RSA-2048"].append(
                (time.perf_counter() - start) / max(args.messages // 10, 1) * 1000
            )
        base = statistics.median(times["unsigned"])
        for name, values in times.items():
            median = statistics.median(values)
            extra = "" if name == "unsigned" else f"  (+{median - base:.2f} ms for the signature)"
            print(f"{name:>16}: {median:7.2f} ms a message{extra}")
    print(f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
