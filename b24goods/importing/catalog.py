"""Matching CSV rows to catalog products, and creating the missing ones exactly once.

Lookups (``catalog.product.list``, filter must include ``iblockId``): by the article property
(``property<N>``, found at install via ``catalog.productProperty.list``), then by ``xmlId``, then by name
(``%name``, compared after normalisation). One command per distinct key, 50 per batch call.

Creation (``catalog.product.add`` / ``catalog.product.service.add``, then ``catalog.price.add``) uses a
deterministic ``xmlId`` per product key and a claim in the store, so a product is created once even when
the file lists it twice, the robot runs twice, or two imports run at the same moment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from ..bitrix.client import RestClient
from ..domain.csv_rows import CsvRow, normalize_name, row_identity
from ..domain.import_plan import CatalogProduct, ProductDraft, xml_id_for
from ..domain.money import to_decimal
from ..errors import ConflictError
from ..store.base import now_utc
from ..store.models import Settings
from ..store.portal import PortalStore

SERVICE_TYPE = 7
CLAIM_TTL = timedelta(days=1)


def _product(raw: dict[str, Any]) -> CatalogProduct:
    price = raw.get("purchasingPrice")
    return CatalogProduct(id=int(raw["id"]), name=str(raw.get("name", "")),
                          is_service=int(raw.get("type") or 1) == SERVICE_TYPE,
                          purchasing_price=None if price in (None, "") else to_decimal(price),
                          measure_code=None)


def _select(settings: Settings) -> list[str]:
    select = ["id", "iblockId", "name", "xmlId", "purchasingPrice", "type"]
    if settings.article_property_id:
        select.append(f"property{settings.article_property_id}")
    return select


def lookup(rest: RestClient, settings: Settings, rows: list[CsvRow],
           want_units: bool = False) -> tuple[dict[str, CatalogProduct], dict[str, int]]:
    """Match rows to products by the cheaper of two ways.

    Targeted searches cost one command per distinct key (up to three per row), 50 commands a call. Reading the
    whole catalog costs one command per 50 products. The first page of the catalog (one call) tells its size;
    the way with fewer commands wins, so a 2,000-row file against a small catalog costs a couple of calls,
    and a 5-row file against a catalog of 100,000 products costs a couple of calls too.
    """
    iblock = settings.catalog_iblock_id
    if not iblock or not rows:
        return {}, (units(rest) if want_units else {})
    select = _select(settings)
    commands = [("first", "catalog.product.list", {"select": select, "filter": {"iblockId": iblock},
                                                   "order": {"id": "ASC"}, "start": 0})]
    if want_units:
        commands.append(("units", "catalog.measure.list", {}))
    head = rest.batch(commands)
    head.raise_first()
    unit_map = units_from(head.results.get("units")) if want_units else {}
    products = list((head.results.get("first") or {}).get("products") or [])
    # Without a ``total`` a full first page says nothing of the catalog's size: search it row by row.
    total = head.totals.get("first", len(products) if len(products) < 50 else None)
    targeted = len(rows) * 2
    if total is not None and total <= 50 * targeted:
        if total > len(products):
            pages = rest.batch([(f"s{start}", "catalog.product.list", {
                "select": select, "filter": {"iblockId": iblock}, "order": {"id": "ASC"}, "start": start})
                for start in range(len(products), total, 50)])
            pages.raise_first()
            for start in range(len(products), total, 50):
                products.extend((pages.results.get(f"s{start}") or {}).get("products") or [])
        return match_locally(products, rows, settings.article_property_id), unit_map
    return _targeted(rest, settings, rows, select, iblock), unit_map


def match_locally(products: list[dict[str, Any]], rows: list[CsvRow], article_property: int | None) -> dict[str, CatalogProduct]:
    """Article, then xmlId, then normalised name — the same order as the targeted searches."""
    by_article: dict[str, dict[str, Any]] = {}
    by_xml: dict[str, dict[str, Any]] = {}
    by_name: dict[str, dict[str, Any]] = {}
    for p in products:
        prop = p.get(f"property{article_property}") if article_property else None
        value = prop.get("value") if isinstance(prop, dict) else prop
        if value:
            by_article.setdefault(str(value).strip().upper(), p)
        if p.get("xmlId"):
            by_xml.setdefault(str(p["xmlId"]), p)
        by_name.setdefault(normalize_name(str(p.get("name", ""))), p)
    found: dict[str, CatalogProduct] = {}
    for row in rows:
        hit = (by_article.get(row.article.upper()) if row.article else None) \
            or (by_xml.get(row.xml_id or row.article) if (row.xml_id or row.article) else None) \
            or by_xml.get(xml_id_for(row)) or by_name.get(normalize_name(row.name))
        if hit is not None:
            found[row_identity(row)] = _product(hit)
    return found


def _targeted(rest: RestClient, settings: Settings, rows: list[CsvRow], select: list[str],
              iblock: int) -> dict[str, CatalogProduct]:
    found: dict[str, CatalogProduct] = {}

    def run(commands: list[tuple[str, dict[str, Any], CsvRow, Callable[[dict[str, Any], CsvRow], bool]]]) -> None:
        res = rest.batch([(key, "catalog.product.list", {"select": select, "filter": flt, "start": -1})
                          for key, flt, _, _ in commands])
        for key, _, row, accept in commands:
            products = (res.results.get(key) or {}).get("products") or []
            hit = next((p for p in products if accept(p, row)), None)
            if hit is not None and row_identity(row) not in found:
                found[row_identity(row)] = _product(hit)

    def by_name(p: dict[str, Any], row: CsvRow) -> bool:
        return normalize_name(str(p.get("name", ""))) == normalize_name(row.name)

    with_article = {row.article: row for row in rows if row.article}
    first: list[Any] = []
    if settings.article_property_id:
        prop = f"property{settings.article_property_id}"
        first += [(f"a{i}", {"iblockId": iblock, prop: art}, row, lambda p, r: True)
                  for i, (art, row) in enumerate(with_article.items())]
    no_article = {normalize_name(r.name): r for r in rows if not r.article}
    first += [(f"n{i}", {"iblockId": iblock, "%name": row.name}, row, by_name) for i, row in enumerate(no_article.values())]
    run(first)
    second = [(f"x{i}", {"iblockId": iblock, "xmlId": row.xml_id or art}, row, lambda p, r: True)
              for i, (art, row) in enumerate(with_article.items()) if row_identity(row) not in found]
    second += [(f"m{i}", {"iblockId": iblock, "%name": row.name}, row, by_name)
               for i, (art, row) in enumerate(with_article.items()) if row_identity(row) not in found]
    # rows without an article: by xmlId (theirs, or the one we give products we create, so a re-run finds them)
    xml_only = {xml_id_for(r): r for r in rows if not r.article and row_identity(r) not in found}
    second += [(f"y{i}", {"iblockId": iblock, "xmlId": x}, row, lambda p, r: True) for i, (x, row) in enumerate(xml_only.items())]
    if second:
        run(second)
    return found


def units(rest: RestClient) -> dict[str, int]:
    """Unit symbols (``шт``, ``м``, ``pcs``...) → measure codes for ``measureCode`` (``catalog.measure.list``)."""
    return units_from(rest.result("catalog.measure.list", {}))


def units_from(result: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    measures = (result or {}).get("measures") if isinstance(result, dict) else result
    for m in measures or []:
        for key in ("symbol", "symbolIntl", "symbolLetterIntl", "measureTitle"):
            if m.get(key):
                out[str(m[key]).lower().rstrip(".")] = int(m["code"])
    out.setdefault("усл", out.get("шт", 796))
    return out


def create_products(rest: RestClient, portal: PortalStore, settings: Settings, drafts: list[ProductDraft],
                    known: dict[str, int]) -> dict[str, int]:
    """Create every draft not in ``known`` (key → product id) once; returns the updated mapping."""
    pending = [d for d in drafts if d.key not in known]
    if not pending or not settings.catalog_iblock_id:
        return known
    iblock = settings.catalog_iblock_id
    claimed: list[ProductDraft] = []
    for draft in pending:  # lookup() already searched each draft's xmlId: a claim is all that is left to check
        if _claim(portal, draft):
            claimed.append(draft)
        else:
            known[draft.key] = _wait_for_other(portal, rest, iblock, draft)
    commands = []
    for n, draft in enumerate(claimed):
        fields: dict[str, Any] = {"iblockId": iblock, "name": draft.name, "xmlId": draft.xml_id, "active": "Y",
                                  "vatIncluded": "Y" if draft.price_includes_vat else "N", "purchasingCurrency": settings.currency}
        if draft.cost is not None:
            fields["purchasingPrice"] = Decimal(draft.cost)
        if draft.article and settings.article_property_id:
            fields[f"property{settings.article_property_id}"] = draft.article
        method = "catalog.product.service.add" if draft.is_service else "catalog.product.add"
        commands.append((f"c{n}", method, {"fields": fields}))
    res = rest.batch(commands)
    prices = []
    for n, draft in enumerate(claimed):
        err = res.errors.get(f"c{n}")
        if err is not None:
            _release(portal, draft)
            raise err
        result = res.results.get(f"c{n}") or {}
        product = result.get("element") or result.get("service") or result.get("product") or {}
        known[draft.key] = int(product["id"])
        _record(portal, draft, known[draft.key])
        if settings.base_price_type_id:
            prices.append((f"p{n}", "catalog.price.add", {"fields": {
                "productId": known[draft.key], "catalogGroupId": settings.base_price_type_id,
                "price": Decimal(draft.list_price), "currency": settings.currency}}))
    if prices:
        rest.batch(prices)
    return known


def _find_by_xml(rest: RestClient, iblock: int, xml_id: str) -> int | None:
    res = rest.result("catalog.product.list", {"select": ["id", "iblockId", "xmlId"],
                                               "filter": {"iblockId": iblock, "xmlId": xml_id}})
    products = (res or {}).get("products") or []
    return int(products[0]["id"]) if products else None


def _claim(portal: PortalStore, draft: ProductDraft) -> bool:
    return portal.store.create(portal.member_id, "catalog_claims", _key(draft), {"state": "creating", "at": time.time()},
                               expires_at=now_utc() + CLAIM_TTL)


def _record(portal: PortalStore, draft: ProductDraft, product_id: int) -> None:
    portal.store.put(portal.member_id, "catalog_claims", _key(draft), {"state": "created", "product_id": product_id},
                     expires_at=now_utc() + CLAIM_TTL)


def _release(portal: PortalStore, draft: ProductDraft) -> None:
    portal.store.delete(portal.member_id, "catalog_claims", _key(draft))


def _key(draft: ProductDraft) -> str:
    import hashlib

    return hashlib.sha256(draft.xml_id.encode()).hexdigest()[:32]


def _wait_for_other(portal: PortalStore, rest: RestClient, iblock: int, draft: ProductDraft) -> int:
    """Another import claimed this product: wait for its id (or for the claim to go stale)."""
    for _ in range(50):
        doc = portal.store.get(portal.member_id, "catalog_claims", _key(draft)) or {}
        if doc.get("product_id"):
            return int(doc["product_id"])
        found = _find_by_xml(rest, iblock, draft.xml_id)
        if found:
            return found
        if time.time() - float(doc.get("at", 0)) > 120:
            _release(portal, draft)
            break
        time.sleep(0.2)
    raise ConflictError(f"товар «{draft.name}» создаётся другим импортом: повторите позже")
