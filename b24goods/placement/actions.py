"""What a manager does in the tab: preview and confirm a CSV import, edit a row. The robots' code paths.

- The preview is the import robot's own dry run (:func:`b24goods.importing.run.run_import` with ``dry_run``):
  every row as it will be imported (matched / new product / free text) and every error by line. Confirming
  runs the same import for real, then the same sum, history and timeline as the robot; a second confirm of
  the same file changes nothing (the plan skips rows already there).
- An edit of quantity, list price or discount goes through the domain pricing (``price_from_list``) and a
  single-row update; then history, the two-way sync to the item, and the sum — as any other change.
  A locked order refuses it: changes go through a supplementary agreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ..bitrix import crm
from ..bitrix.client import RestClient
from ..bitrix.payloads import DocumentRef
from ..domain.csv_rows import parse_number
from ..domain.format import rub
from ..domain.money import HUNDRED, ZERO
from ..domain.rows import Discount, ProductRow, field_values, price_from_list
from ..errors import CsvError, DomainError, PropertyError
from ..importing.run import ImportRequest, ImportResult, MemoryCheckpoints, finish_import, run_import
from ..orders import load
from ..store.base import now_utc
from ..store.models import HistoryEntry, RowChange
from ..store.portal import PortalStore
from ..totals import compute_totals, deal_of, write_sum

SOURCE = "placement"
SOURCE_LABEL = {"matched": "товар из каталога", "created": "новый товар", "free_text": "произвольная строка"}


@dataclass
class Preview:
    filename: str
    result: ImportResult | None
    errors: list[str]

    @property
    def ok(self) -> bool:
        return not self.errors and self.result is not None

    @property
    def warnings(self) -> list[str]:
        """What the import passes over (title and totals rows, unknown columns): shown, not blocking."""
        return [i for i in (self.result.issues if self.result else []) if i not in self.errors]


def preview_import(rest: RestClient, portal: PortalStore, doc: DocumentRef, data: bytes, filename: str, *,
                   mode: str, create_products: bool, max_bytes: int) -> Preview:
    req = _request(doc, data, filename, mode, create_products, max_bytes, dry_run=True)
    try:
        result = run_import(rest, portal, portal.settings(), req, MemoryCheckpoints())
    except CsvError as exc:  # not a table at all, too large...: nothing to preview
        return Preview(filename, None, list(exc.issues) or [exc.user_message])
    return Preview(filename, result, result.errors)


def confirm_import(rest: RestClient, portal: PortalStore, doc: DocumentRef, data: bytes, filename: str, *,
                   mode: str, create_products: bool, max_bytes: int, user_id: int) -> str:
    req = _request(doc, data, filename, mode, create_products, max_bytes, dry_run=False)
    result = run_import(rest, portal, portal.settings(), req, MemoryCheckpoints())
    return finish_import(rest, portal, doc, result, filename, mode=mode, source=SOURCE, user_id=user_id,
                         where=" из вкладки").summary


def _request(doc: DocumentRef, data: bytes, filename: str, mode: str, create_products: bool, max_bytes: int,
             dry_run: bool) -> ImportRequest:
    if mode not in ("append", "replace"):
        raise PropertyError("Режим импорта: ожидается «добавить» или «заменить»")
    return ImportRequest(doc=doc, mode=mode, create_products=create_products, dry_run=dry_run,  # type: ignore[arg-type]
                         data=data, filename=filename or "import.csv", max_bytes=max_bytes)


@dataclass
class RowEdit:
    row_id: int
    quantity: str
    list_price: str
    discount_rate: str


def _number(raw: str, field: str) -> Decimal:
    try:
        return parse_number(raw)
    except (ValueError, InvalidOperation):
        raise PropertyError(f"«{field}»: «{raw}» — не число") from None


def edit_row(rest: RestClient, portal: PortalStore, doc: DocumentRef, edit: RowEdit, user_id: int) -> str:
    item, rows = crm.read_document(rest, doc)
    deal_id = deal_of(doc, item)
    if deal_id and load(portal, deal_id).lock.locked:
        raise DomainError("Позиции заблокированы: изменения вносятся доп. соглашением", code="ORDER_LOCKED")
    row = next((r for r in rows if r.id == edit.row_id), None)
    if row is None:
        raise DomainError("Строка не найдена: обновите вкладку", code="ROW_NOT_FOUND")
    quantity = _number(edit.quantity, "Количество")
    list_price = _number(edit.list_price, "Цена")
    rate = _number(edit.discount_rate or "0", "Скидка, %")
    if quantity <= ZERO:
        raise PropertyError("«Количество»: должно быть больше нуля")
    if list_price < ZERO:
        raise PropertyError("«Цена»: не может быть отрицательной")
    if not ZERO <= rate <= HUNDRED:
        raise PropertyError("«Скидка, %»: от 0 до 100")
    pricing = price_from_list(list_price, quantity, tax_rate=row.tax_rate, list_includes_tax=row.tax_included,
                              discount=Discount("percent", rate))
    updated = row.model_copy(update={"price": pricing.price, "quantity": quantity,
                                     "discount_type_id": pricing.discount_type_id,
                                     "discount_rate": pricing.discount_rate, "discount_sum": pricing.discount_sum})
    before, after = field_values(row), field_values(updated)
    if before == after:
        return "Без изменений"
    rest.result("crm.item.productrow.update", {"id": row.id, "fields": _writable(updated)})
    if deal_id:
        portal.add_history(deal_id, HistoryEntry(
            at=now_utc().isoformat(), action="edit", source=SOURCE, user_id=user_id, deal_id=deal_id,
            document=doc.key, summary=f"Изменена позиция «{row.product_name}» во вкладке «Товары и услуги»",
            changes=[RowChange(row=row.product_name, before=before, after=after)]))
        from ..sync import sync_order

        sync_order(rest, portal, deal_id, prefer="deal" if doc.is_deal else "item", source=SOURCE, actor=user_id,
                   changed_doc=doc.key)
    item, _, totals = compute_totals(rest, portal, doc, require_prices=False)
    write_sum(rest, doc, item, totals)
    return f"Позиция «{row.product_name}» сохранена; сумма {rub(totals.sum)}"


def _writable(row: ProductRow) -> dict[str, object]:
    fields = row.to_bitrix()
    fields.pop("sort", None)
    return fields
