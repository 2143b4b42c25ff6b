"""Imports every module that registers event handlers, so ``functions/events.py`` sees them all."""

from . import (
    locking,  # noqa: F401 - ONCRMDEALUPDATE / ONCRMDYNAMICITEMUPDATE: revert edits of locked orders
    sync,  # noqa: F401 - ONCRMDEALUPDATE / ONCRMDYNAMICITEMUPDATE: two-way sync of unlocked orders
)
