"""``make bench``: run every benchmark, print tables, write ``bench/results/*.json``."""

from __future__ import annotations

import importlib
import logging

BENCHES = ("recalc_sum", "import_csv", "agreement", "sync", "cold_start")


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    for name in BENCHES:
        importlib.import_module(f"bench.{name}").main()
        print()


if __name__ == "__main__":
    main()
