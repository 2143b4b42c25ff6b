"""Every deployable target. Cloud Functions loads this file with ``--entry-point <name>``; locally
``python -m b24goods serve`` mounts each target at ``/<name>``. Targets are imported lazily so a function
pays only for its own imports at cold start."""

from __future__ import annotations

import importlib
from typing import Any

TARGETS = ("install", "events", "recalc_sum")


def _target(name: str) -> Any:
    return getattr(importlib.import_module(f"functions.{name}"), name)


def install(request: Any) -> Any:
    return _target("install")(request)


def events(request: Any) -> Any:
    return _target("events")(request)


def recalc_sum(request: Any) -> Any:
    return _target("recalc_sum")(request)
