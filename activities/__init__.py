"""Every robot the application registers. ``install`` registers exactly what :data:`ALL` holds.

The robots' modules are imported lazily: a deployed function imports only its own robot (``recalc_sum`` does
not pay at cold start for the CSV importer or the agreements), while ``install`` and the worker, which need
all of them or any one of them by code, import what they ask for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Activity

# robot CODE → module in this package (the module's ACTIVITY has that code: tests/test_manifest.py checks it);
# the order is the order of registration
MODULES: dict[str, str] = {
    "b24goods_recalc_sum": "recalc_sum",
    "b24goods_import_csv": "import_csv",
    "b24goods_lock_rows": "lock_rows",
    "b24goods_apply_agreement": "apply_agreement",
    "b24goods_notify": "notify",
    "b24goods_assign_executors": "assign_executors",
    "b24goods_sync_rows": "sync_rows",
}


def _load(module: str) -> Activity:
    activity: Activity = importlib.import_module(f"{__name__}.{module}").ACTIVITY
    return activity


def by_code(code: str) -> Activity:
    if code not in MODULES:
        raise KeyError(code)
    return _load(MODULES[code])


def __getattr__(name: str) -> Any:
    if name == "ALL":  # every robot, in registration order
        return tuple(_load(module) for module in MODULES.values())
    raise AttributeError(name)
