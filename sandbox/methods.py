"""REST methods of the sandbox portal, each following its documentation page (shapes, errors, side effects)."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from b24goods.bitrix.phpform import parse_pairs

from .portal import DEAL, Portal, RestFault, r2

PAGE = 50
APP_ONLY = ("bizproc.robot.", "bizproc.activity.add", "bizproc.activity.update", "bizproc.activity.delete",
            "bizproc.activity.list", "event.bind", "event.unbind", "event.get", "placement.bind",
            "placement.unbind")


@dataclass
class Ctx:
    portal: Portal
    user_id: int
    app: bool  # OAuth application context (webhooks are not)


@dataclass
class Page:
    result: Any
    total: int | None = None
    next: int | None = None


Handler = Callable[[Ctx, dict[str, Any]], Any]
METHODS: dict[str, Handler] = {}


def method(*names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for name in names:
            METHODS[name.lower()] = fn
        return fn

    return register


def now_iso() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


def p(params: dict[str, Any], name: str, default: Any = None) -> Any:
    if name in params:
        return params[name]
    for key, value in params.items():
        if key.lower() == name.lower():
            return value
    return default


def as_int(value: Any, name: str) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        raise RestFault("INVALID_ARG_VALUE", f"Parameter '{name}' must be an integer", 400) from None


def paginate(items: list[Any], params: dict[str, Any]) -> Page:
    start = as_int(p(params, "start", 0) or 0, "start")
    if start == -1:
        return Page(items[:PAGE])
    chunk = items[start:start + PAGE]
    nxt = start + PAGE if start + PAGE < len(items) else None
    return Page(chunk, total=len(items), next=nxt)


# ---- filters ------------------------------------------------------------------------------------------
_OPS = ("!=", ">=", "<=", "=", ">", "<", "@", "!@", "%", "!")


def matches(obj: dict[str, Any], filter_: dict[str, Any] | list[Any] | None) -> bool:
    if not filter_ or not isinstance(filter_, dict):
        return True
    for raw_key, want in filter_.items():
        op, key = "=", raw_key
        for candidate in ("!@", "!=", ">=", "<=", "=", ">", "<", "@", "%", "!"):
            if raw_key.startswith(candidate):
                op, key = candidate, raw_key[len(candidate):]
                break
        have = _field(obj, key)
        if not _compare(op, have, want):
            return False
    return True


def _field(obj: dict[str, Any], key: str) -> Any:
    if key in obj:
        return obj[key]
    for k, v in obj.items():
        if k.lower() == key.lower():
            return v
    return None


def _num(value: Any) -> Any:
    try:
        return Decimal(str(value))
    except Exception:
        return str(value)


def _compare(op: str, have: Any, want: Any) -> bool:
    if isinstance(have, dict) and "value" in have:
        have = have["value"]
    if op in ("@", "!@"):
        values = want if isinstance(want, list) else [want]
        inside = str(have) in {str(v) for v in values}
        return inside if op == "@" else not inside
    if op == "%":
        return str(want).lower() in str(have or "").lower()
    if op in (">", "<", ">=", "<="):
        a, b = _num(have), _num(want)
        try:
            return {">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]
        except TypeError:
            return False
    equal = str(have if have is not None else "") == str(want if want is not None else "")
    return not equal if op in ("!=", "!") else equal


def order_by(items: list[dict[str, Any]], order: Any) -> list[dict[str, Any]]:
    if not isinstance(order, dict):
        return items
    for key, direction in reversed(list(order.items())):  # stable sorts: the first key decides last
        items = sorted(items, key=functools.partial(_sort_value, key), reverse=str(direction).upper() == "DESC")
    return items


def _sort_value(key: str, item: dict[str, Any]) -> Any:
    return _num(_field(item, key) or 0)


# ---- CRM items -------------------------------------------------------------------------------------------
def owner_of(owner_type: str) -> int:
    if owner_type == "D":
        return DEAL
    m = re.fullmatch(r"T([0-9a-fA-F]+)", owner_type or "")
    if not m:
        raise RestFault("ENTITY_TYPE_NOT_SUPPORTED", f"Owner type {owner_type!r} is not supported", 400)
    return int(m.group(1), 16)


def uf_camel(code: str) -> str:
    parts = code.split("_")[2:]
    if len(parts) > 1 and parts[0].isdigit():
        return f"ufCrm{parts[0]}_{'_'.join(parts[1:])}"
    if len(parts) == 1 and parts[0].isdigit():
        return f"ufCrm_{parts[0]}"
    return "ufCrm" + "".join(x.capitalize() for x in parts)


def uf_original(key: str, item: dict[str, Any]) -> str | None:
    if key.upper().startswith("UF_"):
        return key.upper()
    for code in item.get("_uf", {}):
        if uf_camel(code) == key:
            return code
    return None


def items_of(portal: Portal, entity_type_id: int) -> dict[int, dict[str, Any]]:
    if entity_type_id != DEAL and entity_type_id not in portal.types:
        raise RestFault("NOT_FOUND", f"Smart process {entity_type_id} not found", 400)
    return portal.items.setdefault(entity_type_id, {})


def get_item(portal: Portal, entity_type_id: int, item_id: int) -> dict[str, Any]:
    item = items_of(portal, entity_type_id).get(item_id)
    if item is None:
        raise RestFault("NOT_FOUND", "Element not found", 400)
    return item


def present(portal: Portal, item: dict[str, Any], original_uf: bool) -> dict[str, Any]:
    out = {k: v for k, v in item.items() if not k.startswith("_")}
    for code, value in item.get("_uf", {}).items():
        value = portal_file_values(portal, value)
        out[code if original_uf else uf_camel(code)] = value
    return out


def portal_file_values(portal: Portal, value: Any) -> Any:
    def one(v: Any) -> Any:
        if isinstance(v, dict) and "_file" in v:
            fid = v["_file"]
            sig = portal.files[fid]["sig"]
            return {"id": fid, "url": f"/bitrix/tools/crm_show_file.php?fileId={fid}",
                    "urlMachine": f"{portal.base_url}/_sandbox/download/{fid}?token={sig}"}
        return v

    return [one(v) for v in value] if isinstance(value, list) else one(value)


def new_item(portal: Portal, entity_type_id: int, fields: dict[str, Any], user_id: int) -> dict[str, Any]:
    item_id = portal.next_id()
    stamp = now_iso()
    item: dict[str, Any] = {"id": item_id, "entityTypeId": entity_type_id, "title": f"#{item_id}",
                            "stageId": "NEW" if entity_type_id == DEAL else f"DT{entity_type_id}_0:NEW",
                            "categoryId": 0, "assignedById": user_id, "createdBy": user_id, "updatedBy": user_id,
                            "opportunity": 0.0, "currencyId": "RUB", "isManualOpportunity": "N", "taxValue": 0.0,
                            "begindate": stamp[:10], "closedate": stamp[:10], "createdTime": stamp,
                            "updatedTime": stamp, "_uf": {}}
    items_of(portal, entity_type_id)[item_id] = item
    apply_fields(portal, item, fields)
    return item


def apply_fields(portal: Portal, item: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """Apply writable fields; returns what changed (``{field: (old, new)}``)."""
    changed: dict[str, Any] = {}
    readonly = {"id", "entityTypeId", "createdTime", "updatedTime", "createdBy", "taxValue"}
    for key, value in (fields or {}).items():
        code = uf_original(key, item) if key.lower().startswith("uf") else None
        if code:
            value = store_files(portal, value)
            if item["_uf"].get(code) != value:
                changed[code] = (item["_uf"].get(code), value)
                item["_uf"][code] = value
            continue
        if key in readonly:
            continue
        if key == "opportunity":
            value = float(r2(value or 0))
        if key in ("closedate", "begindate") and isinstance(value, str):
            value = value[:10]
        if item.get(key) != value:
            changed[key] = (item.get(key), value)
            item[key] = value
    return changed


def store_files(portal: Portal, value: Any) -> Any:
    """File UF input ``["name.csv", "<base64>"]`` (or a list of such pairs) → stored file references."""
    import base64
    import secrets

    def one(v: Any) -> Any:
        if isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v):
            fid = portal.next_id()
            portal.files[fid] = {"name": v[0], "content": base64.b64decode(v[1]), "sig": secrets.token_hex(12)}
            return {"_file": fid}
        if isinstance(v, dict) and "id" in v and int(v["id"]) in portal.files:
            return {"_file": int(v["id"])}
        return v

    if isinstance(value, list) and value and isinstance(value[0], list):
        return [one(v) for v in value]
    return one(value)


def recalc_owner(portal: Portal, entity_type_id: int, owner_id: int) -> None:
    item = portal.items.get(entity_type_id, {}).get(owner_id)
    if item is None:
        return
    code = item.get("_ownerType") or ("D" if entity_type_id == DEAL else "T" + format(entity_type_id, "x"))
    rows = [r for r in portal.rows.values() if r["ownerId"] == owner_id and r["ownerType"] == code]
    item["taxValue"] = float(sum((r["_tax"] for r in rows), Decimal(0)))
    if item.get("isManualOpportunity") != "Y" and rows:
        item["opportunity"] = float(sum((r["_total"] for r in rows), Decimal(0)))


def saved(ctx: Ctx, entity_type_id: int, item: dict[str, Any], changed: dict[str, Any]) -> None:
    """After a save: stamp, run automation on a stage change, send the owner's update event."""
    if not changed:
        return
    item["updatedTime"] = now_iso()
    item["updatedBy"] = ctx.user_id
    if "stageId" in changed:
        ctx.portal.stage_entered(entity_type_id, item["id"], item["stageId"])
    if entity_type_id == DEAL:
        ctx.portal.emit("ONCRMDEALUPDATE", {"ID": str(item["id"])}, ctx.user_id)
    else:
        ctx.portal.emit("ONCRMDYNAMICITEMUPDATE", {"ID": str(item["id"]), "ENTITY_TYPE_ID": str(entity_type_id)},
                        ctx.user_id)


@method("crm.item.get")
def crm_item_get(ctx: Ctx, params: dict[str, Any]) -> Any:
    item = get_item(ctx.portal, as_int(p(params, "entityTypeId"), "entityTypeId"), as_int(p(params, "id"), "id"))
    return {"item": present(ctx.portal, item, _yes(p(params, "useOriginalUfNames")))}


def _yes(value: Any) -> bool:
    return str(value or "").upper() in {"Y", "1", "TRUE"}


@method("crm.item.list")
def crm_item_list(ctx: Ctx, params: dict[str, Any]) -> Any:
    etid = as_int(p(params, "entityTypeId"), "entityTypeId")
    original = _yes(p(params, "useOriginalUfNames"))
    found = [present(ctx.portal, i, original) for i in items_of(ctx.portal, etid).values()]
    found = [i for i in found if matches(i, p(params, "filter"))]
    found = order_by(sorted(found, key=lambda i: i["id"]), p(params, "order"))
    page = paginate(found, params)
    return Page({"items": page.result}, page.total, page.next)


@method("crm.item.add")
def crm_item_add(ctx: Ctx, params: dict[str, Any]) -> Any:
    etid = as_int(p(params, "entityTypeId"), "entityTypeId")
    item = new_item(ctx.portal, etid, p(params, "fields") or {}, ctx.user_id)
    if etid == DEAL:
        ctx.portal.emit("ONCRMDEALADD", {"ID": str(item["id"])}, ctx.user_id)
    else:
        ctx.portal.emit("ONCRMDYNAMICITEMADD", {"ID": str(item["id"]), "ENTITY_TYPE_ID": str(etid)}, ctx.user_id)
    return {"item": present(ctx.portal, item, _yes(p(params, "useOriginalUfNames")))}


@method("crm.item.update")
def crm_item_update(ctx: Ctx, params: dict[str, Any]) -> Any:
    etid = as_int(p(params, "entityTypeId"), "entityTypeId")
    item = get_item(ctx.portal, etid, as_int(p(params, "id"), "id"))
    changed = apply_fields(ctx.portal, item, p(params, "fields") or {})
    recalc_owner(ctx.portal, etid, item["id"])
    saved(ctx, etid, item, changed)
    return {"item": present(ctx.portal, item, _yes(p(params, "useOriginalUfNames")))}


DEAL_STAGES = [("NEW", "Новая"), ("PREPARATION", "Подготовка документов"), ("PREPAYMENT_INVOICE", "Счёт на предоплату"),
               ("EXECUTING", "В работе"), ("FINAL_INVOICE", "Финальный счёт"), ("WON", "Сделка успешна"),
               ("LOSE", "Сделка провалена")]


@method("crm.status.list")
def crm_status_list(ctx: Ctx, params: dict[str, Any]) -> Any:
    statuses = [{"ID": str(n + 1), "ENTITY_ID": "DEAL_STAGE", "STATUS_ID": sid, "NAME": name, "NAME_INIT": name,
                 "SORT": str(10 * (n + 1)), "SYSTEM": "Y", "CATEGORY_ID": "0", "SEMANTICS": None}
                for n, (sid, name) in enumerate(DEAL_STAGES)]
    for etid in ctx.portal.types:
        statuses += [{"ID": str(1000 + etid), "ENTITY_ID": f"DYNAMIC_{etid}_STAGE_0", "STATUS_ID": f"DT{etid}_0:{sid}",
                      "NAME": name, "CATEGORY_ID": "0"} for sid, name in (("NEW", "Новый"), ("SIGNED", "Подписано"))]
    return [s for s in statuses if matches(s, p(params, "filter"))]


@method("crm.type.list")
def crm_type_list(ctx: Ctx, params: dict[str, Any]) -> Any:
    found = [t for t in ctx.portal.types.values() if matches(t, p(params, "filter"))]
    page = paginate(found, params)
    return Page({"types": page.result}, page.total, page.next)


@method("crm.type.add")
def crm_type_add(ctx: Ctx, params: dict[str, Any]) -> Any:
    fields = p(params, "fields") or {}
    etid = int(fields.get("entityTypeId") or 1038 + 2 * len(ctx.portal.types))
    if etid in ctx.portal.types:
        raise RestFault("ERROR_CORE", "entityTypeId is already taken", 400)
    t = {"id": len(ctx.portal.types) + 1, "entityTypeId": etid, "title": fields.get("title"),
         "code": fields.get("code", ""), "createdBy": ctx.user_id, "relations": fields.get("relations") or {},
         **{k: v for k, v in fields.items() if k.startswith("is")}}
    ctx.portal.types[etid] = t
    ctx.portal.items.setdefault(etid, {})
    return {"type": t}


# ---- product rows ----------------------------------------------------------------------------------------
ROW_WRITABLE = ("productId", "productName", "price", "quantity", "discountTypeId", "discountRate", "discountSum",
                "taxRate", "taxIncluded", "measureCode", "measureName", "sort")


def derive_row(row: dict[str, Any]) -> None:
    """The read-only price fields, derived from ``price`` as the crm.item.productrow.add example shows."""
    price = Decimal(str(row.get("price") or 0))
    tax = Decimal(str(row.get("taxRate") or 0))
    excl = r2(price * 100 / (100 + tax))
    if int(row.get("discountTypeId") or 2) == 1:
        dsum = r2(row.get("discountSum") or 0)
        netto = excl + dsum
        rate = r2(dsum * 100 / netto) if netto else Decimal(0)
    else:
        rate = Decimal(str(row.get("discountRate") or 0))
        netto = r2(excl * 100 / (100 - rate)) if rate < 100 else excl + r2(row.get("discountSum") or 0)
        dsum = netto - excl
    quantity = Decimal(str(row.get("quantity") or 0))
    total = r2(price * quantity)
    row.update(priceExclusive=float(excl), priceNetto=float(netto), priceBrutto=float(r2(netto * (100 + tax) / 100)),
               discountSum=float(dsum), discountRate=float(rate), priceAccount=float(price),
               _total=total, _tax=total - r2(excl * quantity))


def fill_row(portal: Portal, row: dict[str, Any], fields: dict[str, Any]) -> None:
    """``productId`` names a catalog product or is left out (a free-text row): the docs answer an unknown one,
    0 included, with ``INVALID_ARG_VALUE`` (``crm-item-productrow-add.md``)."""
    if fields.get("productId") not in (None, "") and int(fields["productId"]) not in portal.products:
        raise RestFault("INVALID_ARG_VALUE", "The product with the provided productId was not found", 400)
    for key in ROW_WRITABLE:
        if key in fields:
            row[key] = fields[key]
    for key in ("price", "quantity", "discountRate", "discountSum", "taxRate"):
        if row.get(key) not in (None, ""):
            row[key] = float(row[key])
    for key in ("productId", "discountTypeId", "measureCode", "sort"):
        if row.get(key) not in (None, ""):
            row[key] = int(row[key])
    row["taxRate"] = row.get("taxRate") if row.get("taxRate") not in ("", None) else None
    product = portal.products.get(int(row.get("productId") or 0))
    if product:
        row["type"] = product.get("type", 1)
        if not row.get("productName"):
            row["productName"] = product["name"]
        if row.get("measureCode") in (None, ""):
            row["measureCode"] = product.get("measureCode", 796)
    else:
        row["type"] = 1
        row["productId"] = int(row.get("productId") or 0)
    derive_row(row)


def _row_owner(ctx: Ctx, owner_type: str, owner_id: int) -> tuple[int, dict[str, Any]]:
    etid = owner_of(owner_type)
    item = ctx.portal.items.get(etid, {}).get(owner_id)
    if item is None:
        raise RestFault("OWNER_NOT_FOUND", "Owner not found", 400)
    return etid, item


def _rows_changed(ctx: Ctx, etid: int, item: dict[str, Any]) -> None:
    """Saving rows re-saves the owner (factory Update): amount recalculated, update event sent."""
    before = (item.get("opportunity"), item.get("taxValue"))
    recalc_owner(ctx.portal, etid, item["id"])
    saved(ctx, etid, item, {"productRows": True, "amount": before})


def _get_row(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    row = ctx.portal.rows.get(as_int(p(params, "id"), "id"))
    if row is None:
        raise RestFault("NOT_FOUND", "Product row not found", 400)
    return row


@method("crm.item.productrow.add")
def productrow_add(ctx: Ctx, params: dict[str, Any]) -> Any:
    fields = p(params, "fields") or {}
    etid, item = _row_owner(ctx, str(fields.get("ownerType")), as_int(fields.get("ownerId"), "ownerId"))
    row: dict[str, Any] = {"id": ctx.portal.next_id(), "ownerId": item["id"], "ownerType": fields["ownerType"],
                           "productId": 0, "productName": "", "price": 0.0, "quantity": 1.0, "discountTypeId": 2,
                           "discountRate": 0.0, "discountSum": 0.0, "taxRate": None, "taxIncluded": "N",
                           "customized": "Y", "measureCode": 796, "measureName": "шт", "sort": 10, "xmlId": "",
                           "storeId": None}
    fill_row(ctx.portal, row, fields)
    ctx.portal.rows[row["id"]] = row
    _rows_changed(ctx, etid, item)
    return {"productRow": public(row)}


def public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("_")}


@method("crm.item.productrow.update")
def productrow_update(ctx: Ctx, params: dict[str, Any]) -> Any:
    row = _get_row(ctx, params)
    fields = {k: v for k, v in (p(params, "fields") or {}).items() if k in ROW_WRITABLE}
    if not fields:
        raise RestFault("INVALID_ARG_VALUE", "Field not available for update", 400)
    before = dict(row)
    fill_row(ctx.portal, row, fields)
    if row != before:
        _rows_changed(ctx, *_row_owner(ctx, row["ownerType"], row["ownerId"]))
    return {"productRow": public(row)}


@method("crm.item.productrow.get")
def productrow_get(ctx: Ctx, params: dict[str, Any]) -> Any:
    return {"productRow": public(_get_row(ctx, params))}


@method("crm.item.productrow.delete")
def productrow_delete(ctx: Ctx, params: dict[str, Any]) -> Any:
    row = _get_row(ctx, params)
    del ctx.portal.rows[row["id"]]
    _rows_changed(ctx, *_row_owner(ctx, row["ownerType"], row["ownerId"]))
    return None


@method("crm.item.productrow.list")
def productrow_list(ctx: Ctx, params: dict[str, Any]) -> Any:
    filter_ = p(params, "filter") or {}
    if not isinstance(filter_, dict) or "=ownerType" not in filter_ or "=ownerId" not in filter_:
        raise RestFault("INVALID_ARG_VALUE", "filter must contain =ownerType and =ownerId", 400)
    _row_owner(ctx, str(filter_["=ownerType"]), as_int(filter_["=ownerId"], "ownerId"))
    rows = [public(r) for r in ctx.portal.rows.values() if matches(r, filter_)]
    rows = order_by(sorted(rows, key=lambda r: r["id"]), p(params, "order"))
    page = paginate(rows, params)
    return Page({"productRows": page.result}, page.total, page.next)


@method("crm.item.productrow.set")
def productrow_set(ctx: Ctx, params: dict[str, Any]) -> Any:
    owner_type, owner_id = str(p(params, "ownerType")), as_int(p(params, "ownerId"), "ownerId")
    etid, item = _row_owner(ctx, owner_type, owner_id)
    for rid in [r["id"] for r in ctx.portal.rows.values() if r["ownerId"] == owner_id and r["ownerType"] == owner_type]:
        del ctx.portal.rows[rid]
    out = []
    for fields in p(params, "productRows") or []:
        row: dict[str, Any] = {"id": ctx.portal.next_id(), "ownerId": owner_id, "ownerType": owner_type, "discountTypeId": 2,
               "quantity": 1.0, "taxIncluded": "N", "sort": 10, "productId": 0, "productName": ""}
        fill_row(ctx.portal, row, fields)
        ctx.portal.rows[row["id"]] = row
        out.append(public(row))
    _rows_changed(ctx, etid, item)
    return {"productRows": out}


# ---- catalog ---------------------------------------------------------------------------------------------
def _product_view(prod: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in prod.items() if not k.startswith("_")}


@method("catalog.product.get", "catalog.product.service.get")
def catalog_product_get(ctx: Ctx, params: dict[str, Any]) -> Any:
    prod = ctx.portal.products.get(as_int(p(params, "id"), "id"))
    if prod is None:
        raise RestFault(200040300040, "Product is not exists", 400)
    return {"product": _product_view(prod)}


@method("catalog.product.list")
def catalog_product_list(ctx: Ctx, params: dict[str, Any]) -> Any:
    select = p(params, "select") or []
    filter_ = p(params, "filter") or {}
    if "id" not in select or "iblockId" not in select or not isinstance(filter_, dict) or "iblockId" not in filter_:
        raise RestFault(0, "Required select fields: id, iblockId; required filter fields: iblockId", 400)
    found = [_product_view(x) for x in ctx.portal.products.values() if matches(x, filter_)]
    found = order_by(sorted(found, key=lambda x: x["id"]), p(params, "order"))
    page = paginate(found, params)
    return Page({"products": [{k: v for k, v in x.items() if k in select or "*" in select} for x in page.result]},
                page.total, page.next)


def create_product(portal: Portal, fields: dict[str, Any], kind: int) -> dict[str, Any]:
    if int(fields.get("iblockId") or 0) != portal.iblock_id:
        raise RestFault(200040300020, "Iblock is not a product catalog", 400)
    pid = portal.next_id()
    prod = {"id": pid, "iblockId": portal.iblock_id, "name": fields["name"], "active": fields.get("active", "Y"),
            "xmlId": fields.get("xmlId") or str(pid), "code": fields.get("code"), "type": kind,
            "purchasingPrice": None if fields.get("purchasingPrice") in (None, "") else float(fields["purchasingPrice"]),
            "purchasingCurrency": fields.get("purchasingCurrency"),
            "measure": fields.get("measure"), "vatId": fields.get("vatId"), "vatIncluded": fields.get("vatIncluded", "N")}
    for key, value in fields.items():
        if re.fullmatch(r"property\d+", key):
            prod[key] = value if isinstance(value, dict) else {"value": value, "valueId": portal.next_id()}
    portal.products[pid] = prod
    return prod


@method("catalog.product.add")
def catalog_product_add(ctx: Ctx, params: dict[str, Any]) -> Any:
    return {"element": _product_view(create_product(ctx.portal, p(params, "fields") or {}, 1))}


@method("catalog.product.service.add")
def catalog_service_add(ctx: Ctx, params: dict[str, Any]) -> Any:
    return {"service": _product_view(create_product(ctx.portal, p(params, "fields") or {}, 7))}


@method("catalog.price.add")
def catalog_price_add(ctx: Ctx, params: dict[str, Any]) -> Any:
    fields = p(params, "fields") or {}
    price = {"id": ctx.portal.next_id(), **fields}
    ctx.portal.prices.append(price)
    return {"price": price}


@method("catalog.priceType.list")
def catalog_price_type_list(ctx: Ctx, params: dict[str, Any]) -> Any:
    return Page({"priceTypes": [{"id": 1, "name": "BASE", "base": "Y", "sort": 100, "xmlId": "BASE"}]}, 1)


@method("catalog.catalog.list")
def catalog_catalog_list(ctx: Ctx, params: dict[str, Any]) -> Any:
    portal = ctx.portal
    return Page({"catalogs": [
        {"id": portal.iblock_id, "iblockId": portal.iblock_id, "name": "Товарный каталог CRM", "productIblockId": None,
         "skuPropertyId": None, "iblockTypeId": "CRM_PRODUCT_CATALOG", "lid": "s1", "subscription": "N", "vatId": 1},
        {"id": portal.offers_iblock_id, "iblockId": portal.offers_iblock_id, "name": "Товарный каталог CRM (предложения)",
         "productIblockId": portal.iblock_id, "skuPropertyId": 97, "iblockTypeId": "CRM_PRODUCT_CATALOG",
         "lid": "s1", "subscription": "N", "vatId": 1}]}, 2)


@method("catalog.productProperty.list")
def catalog_property_list(ctx: Ctx, params: dict[str, Any]) -> Any:
    portal = ctx.portal
    props = [{"id": portal.article_property_id, "iblockId": portal.iblock_id, "name": "Артикул",
              "code": "CML2_ARTICLE", "propertyType": "S", "active": "Y", "multiple": "N", "xmlId": "CML2_ARTICLE"},
             {"id": 106, "iblockId": portal.iblock_id, "name": "Производитель", "code": "BRAND",
              "propertyType": "S", "active": "Y", "multiple": "N", "xmlId": "BRAND"}]
    found = [x for x in props if matches(x, p(params, "filter"))]
    return Page({"productProperties": found}, len(found))


@method("catalog.measure.list")
def catalog_measure_list(ctx: Ctx, params: dict[str, Any]) -> Any:
    measures = [{"id": 1, "code": 6, "measureTitle": "Метр", "symbol": "м", "symbolIntl": "m", "isDefault": "N"},
                {"id": 3, "code": 112, "measureTitle": "Литр", "symbol": "л", "symbolIntl": "l", "isDefault": "N"},
                {"id": 4, "code": 166, "measureTitle": "Килограмм", "symbol": "кг", "symbolIntl": "kg", "isDefault": "N"},
                {"id": 5, "code": 796, "measureTitle": "Штука", "symbol": "шт", "symbolIntl": "pcs", "isDefault": "Y"},
                {"id": 6, "code": 55, "measureTitle": "Квадратный метр", "symbol": "м2", "symbolIntl": "m2", "isDefault": "N"},
                {"id": 7, "code": 356, "measureTitle": "Час", "symbol": "ч", "symbolIntl": "h", "isDefault": "N"}]
    return Page({"measures": measures}, len(measures))


# ---- bizproc ---------------------------------------------------------------------------------------------
def _upper(d: dict[str, Any]) -> dict[str, Any]:
    return {k.upper(): v for k, v in d.items()}


def _check_robot(fields: dict[str, Any]) -> None:
    if not re.fullmatch(r"[a-z0-9.\-_]+", str(fields.get("CODE", "")), re.I):
        raise RestFault("ERROR_ACTIVITY_VALIDATION_FAILURE", "Wrong activity code!", 400)
    handler = str(fields.get("HANDLER", ""))
    if not re.match(r"https?://[^/]+", handler):
        raise RestFault("ERROR_WRONG_HANDLER_URL", "Wrong handler URL", 400)
    if not fields.get("NAME"):
        raise RestFault("ERROR_ACTIVITY_VALIDATION_FAILURE", "Empty activity NAME!", 400)
    for key, prop in (fields.get("PROPERTIES") or {}).items():
        if not re.fullmatch(r"[a-z][a-z0-9_]*", key, re.I):
            raise RestFault("ERROR_ACTIVITY_VALIDATION_FAILURE", f"Wrong property key {key}!", 400)
        if not _upper(prop).get("NAME"):
            raise RestFault("ERROR_ACTIVITY_VALIDATION_FAILURE", f"Empty property NAME {key}!", 400)
    if fields.get("USE_PLACEMENT") == "Y" and not fields.get("PLACEMENT_HANDLER"):
        raise RestFault("ERROR_ACTIVITY_VALIDATION_FAILURE", "Empty placement handler", 400)


@method("bizproc.robot.add")
def robot_add(ctx: Ctx, params: dict[str, Any]) -> Any:
    fields = _upper(params)
    fields.pop("AUTH", None)
    _check_robot(fields)
    if fields["CODE"] in ctx.portal.robots:
        raise RestFault("ERROR_ACTIVITY_ALREADY_INSTALLED", "Activity already installed!", 400)
    ctx.portal.robots[fields["CODE"]] = fields
    return True


@method("bizproc.robot.update")
def robot_update(ctx: Ctx, params: dict[str, Any]) -> Any:
    code = p(params, "CODE")
    if code not in ctx.portal.robots:
        raise RestFault("ERROR_ACTIVITY_NOT_FOUND", "Activity not found!", 400)
    fields = _upper(p(params, "FIELDS") or {})
    if not fields:
        raise RestFault("ERROR_ACTIVITY_VALIDATION_FAILURE", "No fields to update", 400)
    merged = {**ctx.portal.robots[code], **fields, "CODE": code}
    _check_robot(merged)
    ctx.portal.robots[code] = merged
    return True


@method("bizproc.robot.list")
def robot_list(ctx: Ctx, params: dict[str, Any]) -> Any:
    return list(ctx.portal.robots)


@method("bizproc.robot.delete")
def robot_delete(ctx: Ctx, params: dict[str, Any]) -> Any:
    if ctx.portal.robots.pop(p(params, "CODE"), None) is None:
        raise RestFault("ERROR_ACTIVITY_NOT_FOUND", "Activity not found!", 400)
    return True


def internalize(kind: Any, value: Any) -> Any:
    """Return values are converted to their declared property type, as the workflow runtime does."""
    try:
        if kind == "int":
            return int(Decimal(str(value))) if value not in ("", None) else None
        if kind == "double":
            return float(Decimal(str(value))) if value not in ("", None) else None
        if kind == "bool":
            return "Y" if str(value).upper() in {"Y", "1", "TRUE"} else "N"
    except Exception:
        return None
    return "" if value is None else str(value)


@method("bizproc.event.send")
def event_send(ctx: Ctx, params: dict[str, Any]) -> Any:
    wf = ctx.portal.workflows.get(str(p(params, "EVENT_TOKEN") or ""))
    if wf is None:
        raise RestFault("ERROR_EVENT_TOKEN", "Wrong event token", 400)
    if wf.status != "running":
        wf.ignored_sends += 1  # the step is closed: the portal ignores it
        return True
    registered = ctx.portal.robots.get(wf.code, {}).get("RETURN_PROPERTIES") or {}
    declared = {k.lower(): k for k in registered}
    values = p(params, "RETURN_VALUES") or {}
    wf.return_values = {declared[k.lower()]: internalize(_upper(registered[declared[k.lower()]]).get("TYPE"), v)
                        for k, v in values.items() if k.lower() in declared}
    wf.log_message = p(params, "LOG_MESSAGE")
    wf.status = "done"
    return True


@method("bizproc.activity.log")
def activity_log(ctx: Ctx, params: dict[str, Any]) -> Any:
    wf = ctx.portal.workflows.get(str(p(params, "EVENT_TOKEN") or ""))
    if not p(params, "LOG_MESSAGE"):
        raise RestFault("ERROR_EMPTY_LOG_MESSAGE", "Empty log message!", 400)
    if wf is None or wf.status != "running":
        raise RestFault("ERROR_EVENT_TOKEN", "Wrong event token", 400)
    wf.logs.append(str(p(params, "LOG_MESSAGE")))
    return True


# ---- events & placements ---------------------------------------------------------------------------------
@method("event.bind")
def event_bind(ctx: Ctx, params: dict[str, Any]) -> Any:
    name, handler = str(p(params, "event")).upper(), p(params, "handler")
    if name not in {"ONCRMDEALUPDATE", "ONCRMDEALADD", "ONCRMDYNAMICITEMUPDATE", "ONCRMDYNAMICITEMADD",
                    "ONAPPUNINSTALL", "ONAPPINSTALL", "ONCRMDEALDELETE"}:
        raise RestFault("ERROR_EVENT_NOT_FOUND", "Event not found", 400)
    if any(e["event"] == name and e["handler"] == handler for e in ctx.portal.events):
        raise RestFault("ERROR_HANDLER_ALREADY_EXISTS", "Handler already binded", 400)
    ctx.portal.events.append({"id": ctx.portal.next_id(), "event": name, "handler": handler,
                              "auth_type": p(params, "auth_type", 0)})
    return True


@method("event.unbind")
def event_unbind(ctx: Ctx, params: dict[str, Any]) -> Any:
    before = len(ctx.portal.events)
    ctx.portal.events = [e for e in ctx.portal.events if not (
        e["event"] == str(p(params, "event")).upper() and e["handler"] == p(params, "handler"))]
    return {"count": before - len(ctx.portal.events)}


@method("event.get")
def event_get(ctx: Ctx, params: dict[str, Any]) -> Any:
    return [{"event": e["event"], "handler": e["handler"], "auth_type": e["auth_type"]} for e in ctx.portal.events]


@method("placement.bind")
def placement_bind(ctx: Ctx, params: dict[str, Any]) -> Any:
    code = str(p(params, "PLACEMENT"))
    if not re.fullmatch(r"CRM_(DEAL|DYNAMIC_\d+)_DETAIL_TAB", code):
        raise RestFault("ERROR_PLACEMENT_NOT_FOUND", "Placement not found", 400)
    if any(x["placement"] == code and x["handler"] == p(params, "HANDLER") for x in ctx.portal.placements):
        raise RestFault("ERROR_PLACEMENT_HANDLER_ALREADY_BINDED", "Handler already binded", 400)
    ctx.portal.placements.append({"placement": code, "handler": p(params, "HANDLER"), "title": p(params, "TITLE"),
                                  "langAll": p(params, "LANG_ALL")})
    return True


@method("placement.list")
def placement_list(ctx: Ctx, params: dict[str, Any]) -> Any:
    return [x["placement"] for x in ctx.portal.placements]


@method("placement.get")
def placement_get(ctx: Ctx, params: dict[str, Any]) -> Any:
    return [{"placement": x["placement"], "handler": x["handler"], "title": x["title"]} for x in ctx.portal.placements]


@method("placement.unbind")
def placement_unbind(ctx: Ctx, params: dict[str, Any]) -> Any:
    before = len(ctx.portal.placements)
    ctx.portal.placements = [x for x in ctx.portal.placements if not (
        x["placement"] == p(params, "PLACEMENT") and (not p(params, "HANDLER") or x["handler"] == p(params, "HANDLER")))]
    return {"count": before - len(ctx.portal.placements)}


# ---- notifications, timeline, users, tasks ---------------------------------------------------------------
def _notify(ctx: Ctx, params: dict[str, Any], kind: str) -> int:
    user_id = as_int(p(params, "USER_ID"), "USER_ID")
    if user_id not in ctx.portal.users:
        raise RestFault("USER_ID_EMPTY", "Recipient not found", 400)
    message = str(p(params, "MESSAGE") or "").strip()
    if not message:
        raise RestFault("MESSAGE_EMPTY", "Message can't be empty", 400)
    tag = p(params, "TAG")
    if tag:
        ctx.portal.notifications = [n for n in ctx.portal.notifications if not (n["tag"] == tag and n["user_id"] == user_id)]
    nid = ctx.portal.next_id()
    ctx.portal.notifications.append({"id": nid, "user_id": user_id, "message": message, "tag": tag, "kind": kind,
                                     "from": ctx.user_id, "at": time.time()})
    return nid


@method("im.notify.system.add")
def notify_system(ctx: Ctx, params: dict[str, Any]) -> Any:
    return _notify(ctx, params, "system")


@method("im.notify.personal.add")
def notify_personal(ctx: Ctx, params: dict[str, Any]) -> Any:
    return _notify(ctx, params, "personal")


@method("crm.timeline.logmessage.add")
def timeline_logmessage(ctx: Ctx, params: dict[str, Any]) -> Any:
    fields = p(params, "fields") or {}
    get_item(ctx.portal, as_int(fields.get("entityTypeId"), "entityTypeId"), as_int(fields.get("entityId"), "entityId"))
    entry = {"id": ctx.portal.next_id(), "created": now_iso(), "authorId": ctx.user_id, "title": fields["title"],
             "text": fields["text"], "iconCode": fields["iconCode"], "entityTypeId": int(fields["entityTypeId"]),
             "entityId": int(fields["entityId"]), "kind": "logmessage"}
    ctx.portal.timeline.append(entry)
    return {"logMessage": {k: entry[k] for k in ("id", "created", "authorId", "title", "text", "iconCode")}}


@method("crm.timeline.comment.add")
def timeline_comment(ctx: Ctx, params: dict[str, Any]) -> Any:
    fields = p(params, "fields") or {}
    entry = {"id": ctx.portal.next_id(), "created": now_iso(), "authorId": ctx.user_id, "text": fields["COMMENT"],
             "entityType": fields["ENTITY_TYPE"], "entityId": int(fields["ENTITY_ID"]), "kind": "comment"}
    ctx.portal.timeline.append(entry)
    return entry["id"]


@method("user.get")
def user_get(ctx: Ctx, params: dict[str, Any]) -> Any:
    filter_ = p(params, "FILTER") or p(params, "filter") or {}
    if isinstance(filter_, dict) and "ID" in filter_ and isinstance(filter_["ID"], list):
        filter_ = {**filter_, "@ID": filter_.pop("ID")}
    found = [u for u in ctx.portal.users.values() if matches(u, filter_ if isinstance(filter_, dict) else {})]
    return paginate(sorted(found, key=lambda u: int(u["ID"])), params)


@method("user.current")
def user_current(ctx: Ctx, params: dict[str, Any]) -> Any:
    """The user whose token made the call (``api-reference/user/user-current.md``)."""
    user = ctx.portal.users.get(ctx.user_id)
    if user is None:
        raise RestFault("ACCESS_DENIED", "Access denied", 403)
    return {k: v for k, v in user.items() if k != "IS_ADMIN"}


@method("user.search")
def user_search(ctx: Ctx, params: dict[str, Any]) -> Any:
    filter_ = p(params, "FILTER") or {}
    find = str(filter_.get("FIND", "") if isinstance(filter_, dict) else "").lower()
    found = [u for u in ctx.portal.users.values()
             if find in f"{u['NAME']} {u['LAST_NAME']}".lower() or find in f"{u['LAST_NAME']} {u['NAME']}".lower()]
    return paginate(found, params)


def _task_view(task: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(task["id"]), "title": task["TITLE"], "description": task.get("DESCRIPTION", ""),
            "responsibleId": str(task["RESPONSIBLE_ID"]), "createdBy": str(task.get("CREATED_BY", 1)),
            "deadline": task.get("DEADLINE"), "status": str(task.get("STATUS", 2)), "ufCrmTask": task.get("UF_CRM_TASK", []),
            "changedDate": task.get("changed")}


@method("tasks.task.add")
def task_add(ctx: Ctx, params: dict[str, Any]) -> Any:
    fields = _upper(p(params, "fields") or {})
    if not fields.get("TITLE"):
        raise RestFault("ERROR_CORE", "Не указано название задачи", 400)
    if int(fields.get("RESPONSIBLE_ID") or 0) not in ctx.portal.users:
        raise RestFault("ERROR_CORE", "Не указан ответственный", 400)
    fields["RESPONSIBLE_ID"] = int(fields["RESPONSIBLE_ID"])
    task = {"id": ctx.portal.next_id(), "STATUS": 2, "CREATED_BY": ctx.user_id, **fields, "changed": now_iso()}
    ctx.portal.tasks[task["id"]] = task
    return {"task": _task_view(task)}


def _task(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    task = ctx.portal.tasks.get(as_int(p(params, "taskId"), "taskId"))
    if task is None:
        raise RestFault("ERROR_CORE", "Задача не найдена или доступ запрещён", 400)
    return task


@method("tasks.task.update")
def task_update(ctx: Ctx, params: dict[str, Any]) -> Any:
    task = _task(ctx, params)
    fields = _upper(p(params, "fields") or {})
    if "RESPONSIBLE_ID" in fields:
        fields["RESPONSIBLE_ID"] = int(fields["RESPONSIBLE_ID"])
    task.update(fields)
    task["changed"] = now_iso()
    return {"task": _task_view(task)}


@method("tasks.task.get")
def task_get(ctx: Ctx, params: dict[str, Any]) -> Any:
    return {"task": _task_view(_task(ctx, params))}


@method("tasks.task.complete")
def task_complete(ctx: Ctx, params: dict[str, Any]) -> Any:
    task = _task(ctx, params)
    task["STATUS"] = 5
    return {"task": _task_view(task)}


@method("tasks.task.list")
def task_list(ctx: Ctx, params: dict[str, Any]) -> Any:
    found = [_task_view(t) for t in ctx.portal.tasks.values()]
    page = paginate(found, params)
    return Page({"tasks": page.result}, page.total, page.next)


@method("task.commentitem.add")
def task_comment(ctx: Ctx, params: dict[str, Any]) -> Any:
    task = ctx.portal.tasks.get(as_int(p(params, "TASKID"), "TASKID"))
    if task is None:
        raise RestFault("ERROR_CORE", "Task not found", 400)
    cid = ctx.portal.next_id()
    ctx.portal.task_comments.append({"id": cid, "task_id": task["id"],
                                     "text": (_upper(p(params, "FIELDS") or {})).get("POST_MESSAGE")})
    return cid


# ---- batch -----------------------------------------------------------------------------------------------
def parse_command(command: str) -> tuple[str, dict[str, Any]]:
    name, _, query = command.partition("?")
    return name.strip(), parse_pairs(parse_qsl(query, keep_blank_values=True))


def run_batch(ctx: Ctx, params: dict[str, Any], call: Callable[[str, dict[str, Any]], Page]) -> Any:
    cmd = p(params, "cmd") or {}
    if isinstance(cmd, list):
        cmd = {str(i): c for i, c in enumerate(cmd)}
    if len(cmd) > 50:
        raise RestFault("ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded", 400)
    halt = str(p(params, "halt", 0)) in {"1", "true", "True"}
    results: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    totals: dict[str, Any] = {}
    nexts: dict[str, Any] = {}
    for key, command in cmd.items():
        name, sub = parse_command(str(command))
        if name.lower() == "batch":
            errors[key] = {"error": "ERROR_BATCH_METHOD_NOT_ALLOWED", "error_description": "Method is not allowed for batch usage"}
        else:
            try:
                page = call(name, sub)
                results[key] = page.result
                if page.total is not None and not ctx.portal.omit_totals:
                    totals[key] = page.total
                if page.next is not None:
                    nexts[key] = page.next
            except RestFault as fault:
                errors[key] = {"error": fault.code, "error_description": fault.description}
        if halt and errors:
            break
    return {"result": results or [], "result_error": errors or [], "result_total": totals or [],
            "result_next": nexts or [], "result_time": []}
