"""Command line: ``python -m b24goods serve | demo | settings | history | import-csv``."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
