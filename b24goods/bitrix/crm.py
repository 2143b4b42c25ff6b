"""The CRM operations the robots need, each a documented REST method (names in the docstrings).

Deals are read and written through the universal ``crm.item.*`` API (``entityTypeId=2``), like smart-process
items, so one code path serves both.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from ..domain.money import to_decimal
from ..domain.rows import ProductRow
from ..errors import RestError
from .client import PAGE_SIZE, BatchResult, Command, RestClient
from .payloads import DocumentRef, timeline_entity_name

log = logging.getLogger(__name__)


def get_item(rest: RestClient, doc: DocumentRef, *, original_uf: bool = False) -> dict[str, Any]:
    """``crm.item.get`` → ``result.item``."""
    params: dict[str, Any] = {"entityTypeId": doc.entity_type_id, "id": doc.id}
    if original_uf:
        params["useOriginalUfNames"] = "Y"
    result = rest.result("crm.item.get", params) or {}
    return dict(result.get("item") or {})


def list_items(rest: RestClient, entity_type_id: int, filter_: dict[str, Any],
               select: Sequence[str] = ("*",)) -> list[dict[str, Any]]:
    """``crm.item.list`` (all pages)."""
    return rest.list_all("crm.item.list", {"entityTypeId": entity_type_id, "filter": filter_,
                                           "select": list(select)}, items_key="items")


def list_rows(rest: RestClient, doc: DocumentRef) -> list[ProductRow]:
    """``crm.item.productrow.list``: one call per page of 50; ``=ownerType`` and ``=ownerId`` are required."""
    raw = rest.list_all("crm.item.productrow.list", {
        "filter": {"=ownerType": doc.owner_type, "=ownerId": doc.id}, "order": {"sort": "ASC", "id": "ASC"}},
        items_key="productRows")
    return [ProductRow.model_validate(r) for r in raw]


def rows_params(doc: DocumentRef, start: int) -> dict[str, Any]:
    return {"filter": {"=ownerType": doc.owner_type, "=ownerId": doc.id}, "order": {"sort": "ASC", "id": "ASC"},
            "start": start}


def read_document(rest: RestClient, doc: DocumentRef) -> tuple[dict[str, Any], list[ProductRow]]:
    """The item and all its rows in as few calls as possible.

    Call 1 is a batch of ``crm.item.get`` and the first page of ``crm.item.productrow.list``; its ``total``
    tells how many pages remain, and those are fetched together in further batches (50 pages a call), so
    500 rows cost 2 HTTP calls instead of 11.
    """
    res = rest.batch([("item", "crm.item.get", {"entityTypeId": doc.entity_type_id, "id": doc.id}),
                      ("rows", "crm.item.productrow.list", rows_params(doc, 0))])
    res.raise_first()
    item = dict((res.results.get("item") or {}).get("item") or {})
    first = rows_of(res.results.get("rows"))
    return item, read_rows_of_many(rest, [doc], {doc.key: (first, res.totals.get("rows"))})[doc.key]


def read_rows_of_many(rest: RestClient, docs: list[DocumentRef],
                      first: dict[str, tuple[list[Any], int | None]] | None = None) -> dict[str, list[ProductRow]]:
    """All rows of several documents: first pages of all in one batch, then all remaining pages together.

    ``first`` holds first pages already read (raw rows and ``total``, ``None`` when the portal gave none) by
    document key. Commands beyond 50 per batch are chunked by the client. A list answer without ``total``
    (the docs show it, a portal may leave it out) is followed page by page while pages come back full or
    with a ``next``, so rows past the first page are never silently dropped.
    """
    pages: dict[str, dict[int, list[Any]]] = {}
    by_key = {d.key: d for d in docs}
    pending: list[tuple[DocumentRef, int]] = [(d, 0) for d in docs if d.key not in (first or {})]
    for key, (raw, total) in (first or {}).items():
        pages[key] = {0: list(raw)}
        pending += _following(by_key[key], 0, raw, total, None)
    while pending:
        res = rest.batch([(_page_key(d, start), "crm.item.productrow.list", rows_params(d, start))
                          for d, start in pending])
        res.raise_first()
        follow: list[tuple[DocumentRef, int]] = []
        for d, start in pending:
            name = _page_key(d, start)
            raw = rows_of(res.results.get(name))
            pages.setdefault(d.key, {})[start] = raw
            follow += _following(d, start, raw, res.totals.get(name), res.nexts.get(name))
        pending = follow
    return {d.key: [ProductRow.model_validate(r) for start in sorted(pages.get(d.key, {}))
                    for r in pages[d.key][start]] for d in docs}


def _page_key(doc: DocumentRef, start: int) -> str:
    return f"{doc.entity_type_id}_{doc.id}_{start}"


def _following(doc: DocumentRef, start: int, raw: list[Any], total: int | None,
               next_start: int | None) -> list[tuple[DocumentRef, int]]:
    """The pages still to read after the page at ``start``: all at once when ``total`` is known (first page)."""
    if total is not None:
        return [(doc, s) for s in range(len(raw), total, PAGE_SIZE)] if start == 0 else []
    if next_start is not None and next_start > start:
        return [(doc, next_start)]
    return [(doc, start + len(raw))] if len(raw) >= PAGE_SIZE else []


def rows_of(result: Any) -> list[Any]:
    if isinstance(result, dict):
        result = result.get("productRows", result.get("items", []))
    return list(result or [])


def purchasing_prices(rest: RestClient, product_ids: Iterable[int],
                      iblock_id: int | None = None) -> dict[int, Decimal | None]:
    """Catalog cost prices (``purchasingPrice``) for many products.

    With the catalog's iblock known, ``catalog.product.list`` filtered by ``@id`` returns 50 products a
    command and 50 commands go in one batch: 2,500 products per HTTP call. Products it does not return (an
    offer living in the offers iblock) fall back to ``catalog.product.get``, 50 per batch.
    """
    ids = sorted({int(p) for p in product_ids if p})
    out: dict[int, Decimal | None] = {}
    if not ids:
        return out
    if iblock_id:
        chunks = [ids[i:i + 50] for i in range(0, len(ids), 50)]
        res = rest.batch([(f"l{n}", "catalog.product.list", {
            "select": ["id", "iblockId", "purchasingPrice"], "filter": {"iblockId": iblock_id, "@id": chunk}})
            for n, chunk in enumerate(chunks)])
        for result in res.results.values():
            for product in (result or {}).get("products") or []:
                out[int(product["id"])] = _price(product.get("purchasingPrice"))
    rest_ids = [pid for pid in ids if pid not in out]
    if rest_ids:
        res = rest.batch([(f"p{pid}", "catalog.product.get", {"id": pid}) for pid in rest_ids])
        for pid in rest_ids:
            product = (res.results.get(f"p{pid}") or {}).get("product") or {}
            out[pid] = _price(product.get("purchasingPrice"))
    return out


def _price(value: Any) -> Decimal | None:
    return None if value in (None, "") else to_decimal(value)


def product_catalog_iblock(rest: RestClient) -> int | None:
    """The CRM product catalog's iblock (``catalog.catalog.list``; admin only, so called at install)."""
    catalogs = rest.list_all("catalog.catalog.list", {}, items_key="catalogs")
    main = [c for c in catalogs if not c.get("productIblockId")]
    return int(main[0]["iblockId"]) if main else None


def update_item(rest: RestClient, doc: DocumentRef, fields: dict[str, Any]) -> dict[str, Any]:
    """``crm.item.update``; UF codes are passed in their original ``UF_CRM_*`` form."""
    params: dict[str, Any] = {"entityTypeId": doc.entity_type_id, "id": doc.id, "fields": fields}
    if any(k.upper().startswith("UF_") for k in fields):
        params["useOriginalUfNames"] = "Y"
    result = rest.result("crm.item.update", params, safe=True) or {}
    return dict(result.get("item") or {})


def row_write_commands(doc: DocumentRef, add: Sequence[tuple[str, ProductRow]] = (),
                       update: Sequence[tuple[str, int, ProductRow]] = (),
                       delete: Sequence[tuple[str, int]] = ()) -> list[Command]:
    """Batch commands for single-row writes (ids stay stable, unlike ``productrow.set``)."""
    commands: list[Command] = []
    for key, row in add:
        commands.append((key, "crm.item.productrow.add",
                         {"fields": {"ownerId": doc.id, "ownerType": doc.owner_type, **row.to_bitrix()}}))
    for key, row_id, row in update:
        commands.append((key, "crm.item.productrow.update", {"id": row_id, "fields": row.to_bitrix()}))
    for key, row_id in delete:
        commands.append((key, "crm.item.productrow.delete", {"id": row_id}))
    return commands


def added_row_id(result: Any) -> int | None:
    row = (result or {}).get("productRow") if isinstance(result, dict) else None
    return int(row["id"]) if row and row.get("id") is not None else None


def event_send(rest: RestClient, event_token: str, values: dict[str, Any], log_message: str | None = None) -> None:
    """``bizproc.event.send``: completes the waiting robot with its return values."""
    params: dict[str, Any] = {"EVENT_TOKEN": event_token, "RETURN_VALUES": values}
    if log_message:
        params["LOG_MESSAGE"] = log_message[:2000]
    rest.result("bizproc.event.send", params, safe=True)


def activity_log(rest: RestClient, event_token: str, message: str) -> None:
    """``bizproc.activity.log``: a progress line in the workflow log, the step keeps waiting."""
    if message:
        rest.result("bizproc.activity.log", {"EVENT_TOKEN": event_token, "LOG_MESSAGE": message[:2000]}, safe=True)


def timeline_note(rest: RestClient, doc: DocumentRef, title: str, text: str) -> bool:
    """A short line in the card's timeline, after an operation is done; ``False`` when the portal took none.

    ``crm.timeline.logmessage.add`` first; where the portal refuses it (an older portal without the method, a
    user without rights to log messages) a comment, ``crm.timeline.comment.add``. Best effort by design: the
    order's history in the store is the record, and a card line the portal refuses must not turn an import or
    an agreement that already happened into an error for the business process.
    """
    try:
        rest.result("crm.timeline.logmessage.add", {"fields": {
            "entityTypeId": doc.entity_type_id, "entityId": doc.id, "title": title[:255], "text": text[:5000],
            "iconCode": "info"}})
        return True
    except RestError as exc:
        log.info("timeline log message refused (%s): adding a comment instead", exc.code)
    try:
        rest.result("crm.timeline.comment.add", {"fields": {
            "ENTITY_ID": doc.id, "ENTITY_TYPE": timeline_entity_name(doc.entity_type_id),
            "COMMENT": f"{title}: {text}"[:5000]}})
        return True
    except RestError as exc:
        log.info("timeline comment refused too (%s): the history keeps the record", exc.code)
        return False


def notify(rest: RestClient, user_ids: Iterable[int], message: str, tag: str | None = None) -> BatchResult:
    """``im.notify.system.add`` for each user (one batch); ``TAG`` replaces the previous notification."""
    commands: list[Command] = []
    for uid in sorted(set(user_ids)):
        params: dict[str, Any] = {"USER_ID": uid, "MESSAGE": message}
        if tag:
            params["TAG"] = tag
        commands.append((f"u{uid}", "im.notify.system.add", params))
    return rest.batch(commands) if commands else BatchResult()
