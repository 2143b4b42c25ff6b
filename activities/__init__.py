"""Every robot the application registers. ``install`` registers exactly what :data:`ALL` holds."""

from __future__ import annotations

from .apply_agreement import ACTIVITY as APPLY_AGREEMENT
from .assign_executors import ACTIVITY as ASSIGN_EXECUTORS
from .base import Activity
from .import_csv import ACTIVITY as IMPORT_CSV
from .lock_rows import ACTIVITY as LOCK_ROWS
from .notify import ACTIVITY as NOTIFY
from .recalc_sum import ACTIVITY as RECALC_SUM
from .sync_rows import ACTIVITY as SYNC_ROWS

ALL: tuple[Activity, ...] = (RECALC_SUM, IMPORT_CSV, LOCK_ROWS, APPLY_AGREEMENT, NOTIFY, ASSIGN_EXECUTORS,
                             SYNC_ROWS)


def by_code(code: str) -> Activity:
    for activity in ALL:
        if activity.code == code:
            return activity
    raise KeyError(code)


def by_function(name: str) -> Activity:
    for activity in ALL:
        if activity.function == name:
            return activity
    raise KeyError(name)
