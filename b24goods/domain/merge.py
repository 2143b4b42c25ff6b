"""Three-way merge of an order's rows: the deal side, the item side, and the last synced snapshot. Pure.

Per linked row pair and per field: a change on one side is carried to the other; the same change on both
sides needs nothing; different changes of one field on both sides are a conflict — neither side is
overwritten, and the pair's snapshot stays where it was so the conflict is reported again until someone
resolves it. A price change on one side and a quantity change on the other are both kept. A row added on
one side is added on the other; a row deleted on one side is deleted on the other, unless the other side
changed it meanwhile (a conflict). Rows that belong to the deal only (delivery, agreement rows) are never
copied: a rule in settings decides which, nothing is guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from .csv_rows import normalize_name
from .rows import ProductRow

FIELDS = ("productId", "productName", "price", "quantity", "discountTypeId", "discountRate", "discountSum",
          "taxRate", "taxIncluded", "measureCode")
Side = Literal["deal", "item"]


def _norm(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    try:
        return format(Decimal(str(value)).normalize(), "f")
    except (InvalidOperation, ValueError):
        return str(value).strip()


def canon(row: ProductRow | dict[str, Any]) -> dict[str, Any]:
    """Comparable field values (numbers normalised, so 20 == 20.0)."""
    data = row.to_bitrix() if isinstance(row, ProductRow) else row
    out = {f: _norm(data.get(f)) for f in FIELDS}
    if out["productId"] is None:
        out["productId"] = "0"  # a free-text row: written without productId, compared as "no product"
    if out["discountTypeId"] in (None, "2"):
        out["discountSum"] = None  # derived for percent discounts
    if out["taxRate"] is None:
        out["taxIncluded"] = None
    return out


@dataclass
class Pair:
    deal_row: int
    item: str  # item document key "etid:id"
    item_row: int
    snapshot: dict[str, Any]


@dataclass
class Write:
    side: Side
    op: Literal["add", "update", "delete"]
    doc: str  # document key
    row_id: int | None = None
    fields: dict[str, Any] | None = None
    pair_index: int | None = None  # for adds: which new pair gets the id
    source_row: int | None = None


@dataclass
class Conflict:
    pair: Pair
    fields: list[str]
    deal: dict[str, Any] | None
    item: dict[str, Any] | None


@dataclass
class MergeResult:
    writes: list[Write] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)  # the link table after the writes
    conflicts: list[Conflict] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)  # for history: row, side changed, before → after

    @property
    def quiet(self) -> bool:
        return not self.writes and not self.conflicts


def is_deal_only(row: ProductRow, prefixes: list[str]) -> bool:
    name = row.product_name.strip().lower()
    return any(name.startswith(p.strip().lower()) for p in prefixes if p.strip())


def _key(row: ProductRow) -> str:
    return f"p:{row.product_id}" if row.product_id else f"n:{normalize_name(row.product_name)}"


def merge(deal_key: str, deal_rows: list[ProductRow], items: dict[str, list[ProductRow]], pairs: list[Pair], *,
          deal_only_prefixes: list[str], prefer: Side | None = None) -> MergeResult:
    """``prefer`` resolves conflicts for a one-way sync (``deal_to_items`` / ``items_to_deal``)."""
    result = MergeResult()
    by_deal = {r.id: r for r in deal_rows if r.id is not None}
    by_item = {(key, r.id): r for key, rows in items.items() for r in rows if r.id is not None}
    linked_deal, linked_item = set(), set()
    for pair in pairs:
        if pair.item not in items:
            continue  # the item is gone from the order: its pairs drop
        d, i = by_deal.get(pair.deal_row), by_item.get((pair.item, pair.item_row))
        linked_deal.add(pair.deal_row)
        linked_item.add((pair.item, pair.item_row))
        _merge_pair(deal_key, pair, d, i, prefer, result)
    # rows not linked yet: pair identical ones (first sync), copy the rest to the other side
    loose_item = [(k, r) for (k, rid), r in by_item.items() if (k, rid) not in linked_item]
    targets = sorted(items)
    for row in deal_rows:
        if row.id in linked_deal or is_deal_only(row, deal_only_prefixes):
            continue
        twin = next(((k, r) for k, r in loose_item if canon(r) == canon(row)), None)
        if twin is not None:
            loose_item.remove(twin)
            result.pairs.append(Pair(row.id or 0, twin[0], twin[1].id or 0, canon(row)))
            continue
        if not targets or prefer == "item":
            continue
        result.pairs.append(Pair(row.id or 0, targets[0], 0, canon(row)))
        result.writes.append(Write("item", "add", targets[0], fields=row.to_bitrix(),
                                   pair_index=len(result.pairs) - 1, source_row=row.id))
        result.changed.append({"row": row.product_name, "side": "deal", "before": None, "after": row.to_bitrix()})
    for key, row in loose_item:
        if prefer == "deal":
            continue
        result.pairs.append(Pair(0, key, row.id or 0, canon(row)))
        result.writes.append(Write("deal", "add", deal_key, fields=row.to_bitrix(), pair_index=len(result.pairs) - 1,
                                   source_row=row.id))
        result.changed.append({"row": row.product_name, "side": "item", "before": None, "after": row.to_bitrix()})
    return result


def _merge_pair(deal_key: str, pair: Pair, d: ProductRow | None, i: ProductRow | None, prefer: Side | None,
                result: MergeResult) -> None:
    base = pair.snapshot
    if d is None and i is None:
        return
    if d is None or i is None:
        alive, side = (i, "item") if d is None else (d, "deal")
        assert alive is not None
        if canon(alive) == base or prefer == ("deal" if d is None else "item"):
            # deleted on one side, untouched on the other: delete it there too
            target_doc = pair.item if side == "item" else deal_key
            result.writes.append(Write(side, "delete", target_doc, row_id=alive.id))  # type: ignore[arg-type]
            result.changed.append({"row": alive.product_name, "side": "deal" if d is None else "item",
                                   "before": base, "after": None})
            return
        result.pairs.append(pair)
        result.conflicts.append(Conflict(pair, ["deleted"], None if d is None else canon(d), None if i is None else canon(i)))
        return
    dc, ic = canon(d), canon(i)
    merged: dict[str, Any] = {}
    clash: list[str] = []
    for f in FIELDS:
        b, dv, iv = base.get(f), dc[f], ic[f]
        if dv == iv:
            merged[f] = dv
        elif dv == b:
            merged[f] = iv
        elif iv == b:
            merged[f] = dv
        elif prefer == "deal":
            merged[f] = dv
        elif prefer == "item":
            merged[f] = iv
        else:
            clash.append(f)
    if clash:
        result.pairs.append(pair)
        result.conflicts.append(Conflict(pair, clash, dc, ic))
        return
    source = d.to_bitrix() if merged == dc else i.to_bitrix()
    fields = _fields_from(merged, d if merged == dc else i, source)
    if merged != dc:
        result.writes.append(Write("deal", "update", deal_key, row_id=d.id, fields=fields))
        result.changed.append({"row": d.product_name, "side": "item", "before": dc, "after": merged})
    if merged != ic:
        result.writes.append(Write("item", "update", pair.item, row_id=i.id, fields=fields))
        result.changed.append({"row": i.product_name, "side": "deal", "before": ic, "after": merged})
    result.pairs.append(Pair(pair.deal_row, pair.item, pair.item_row, merged))


def _fields_from(merged: dict[str, Any], like: ProductRow, source: dict[str, Any]) -> dict[str, Any]:
    """Writable fields of the merged row (numbers back to ``Decimal``: exact on the wire)."""
    out = dict(source)
    for f in FIELDS:
        value = merged.get(f)
        if f in ("price", "quantity", "discountRate", "discountSum", "taxRate"):
            if value is not None:
                out[f] = Decimal(value)
            elif f == "taxRate":
                out.pop(f, None)
        elif f in ("productId", "discountTypeId", "measureCode"):
            if value is not None:
                out[f] = int(Decimal(value))
        elif f == "productName":
            out[f] = value or ""
        elif f == "taxIncluded" and value is not None:
            out[f] = value
    if not out.get("productId"):
        out.pop("productId", None)  # free text: a productId of 0 names no catalog product
    if out.get("discountTypeId") == 1:
        out.pop("discountRate", None)
        out["discountSum"] = Decimal(merged.get("discountSum") or 0)
    else:
        out.pop("discountSum", None)
        out["discountRate"] = Decimal(merged.get("discountRate") or 0)
    return out
