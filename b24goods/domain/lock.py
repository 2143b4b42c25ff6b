"""The approved baseline of a locked order, and what it takes to put a document back on it. Pure.

A baseline maps row id → the row's user-visible fields. Comparing the current rows with it gives three
lists: rows to update back, rows to delete (added directly), rows to add again (deleted directly).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .rows import ProductRow

Baseline = dict[str, dict[str, Any]]  # str(row id) → crm.item.productrow fields (to_bitrix form)


def signature(row: ProductRow) -> tuple[Any, ...]:
    """Equality as a user sees a row (numbers as numbers: 20 == 20.0)."""
    discount = row.discount_sum if row.discount_type_id == 1 else row.discount_rate
    return (row.product_id, row.product_name.strip(), row.price or Decimal(0), row.quantity, row.discount_type_id,
            discount, row.tax_rate or Decimal(0), row.tax_included)


def snapshot(rows: list[ProductRow]) -> Baseline:
    return {str(r.id): {**r.to_bitrix(), "id": r.id} for r in rows if r.id is not None}


def as_row(fields: dict[str, Any]) -> ProductRow:
    return ProductRow.model_validate(fields)


@dataclass
class Revert:
    updates: list[tuple[int, ProductRow]] = field(default_factory=list)  # row id, fields to restore
    deletes: list[int] = field(default_factory=list)
    re_adds: list[tuple[str, ProductRow]] = field(default_factory=list)  # baseline id, row to add again
    changes: list[dict[str, Any]] = field(default_factory=list)  # for history: before (baseline) → after (attempt)

    @property
    def empty(self) -> bool:
        return not (self.updates or self.deletes or self.re_adds)


def describe_row(row: ProductRow) -> str:
    return f"{row.product_name} — {row.quantity:g} × {row.price}"


def revert_plan(baseline: Baseline, current: list[ProductRow]) -> Revert:
    plan = Revert()
    seen: set[str] = set()
    for row in current:
        key = str(row.id)
        if key not in baseline:
            plan.deletes.append(int(row.id or 0))
            plan.changes.append({"row": row.product_name, "before": None, "after": row.to_bitrix()})
            continue
        seen.add(key)
        approved = as_row(baseline[key])
        if signature(approved) != signature(row):
            plan.updates.append((int(row.id or 0), approved))
            plan.changes.append({"row": approved.product_name, "before": approved.to_bitrix(), "after": row.to_bitrix()})
    for key, fields in baseline.items():
        if key not in seen:
            approved = as_row(fields)
            plan.re_adds.append((key, approved))
            plan.changes.append({"row": approved.product_name, "before": approved.to_bitrix(), "after": None})
    return plan
