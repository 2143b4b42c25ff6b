"""Every deployable target, resolved from ``serverless.yml`` (the only list of functions).

Cloud Functions loads this file with ``--entry-point <name>``; ``python -m b24goods serve`` mounts each HTTP
target at ``/<name>``. A target's module (``functions/<name>.py``) is imported on first use, so each
function pays at cold start only for its own imports.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    from b24goods.manifest import functions

    if name in {f.handler for f in functions()}:
        return getattr(importlib.import_module(f"functions.{name}"), name)
    raise AttributeError(name)
