"""``b24goods_import_csv``: goods and services from a CSV in a file field straight into the deal or item.

Runs as a durable job (the robot waits; progress goes to the workflow log); see
:mod:`b24goods.importing.run` for the steps and the guarantees (nothing written for an invalid file, no
duplicate rows or products, resumable after a crash).
"""

from __future__ import annotations

from typing import Any

from b24goods.errors import CsvError, PropertyError, RestError
from b24goods.importing.fetch import is_uf_code
from b24goods.importing.run import ImportRequest, run_import
from b24goods.robot import RobotContext
from b24goods.totals import as_text, compute_totals, deal_of, write_sum

from . import props
from .base import Activity, Prop


def request_from(ctx: RobotContext) -> ImportRequest:
    field = props.text(ctx.props, "file_field")
    field = field.upper() if field.upper().startswith("UF_") else field
    if not field:
        raise PropertyError("Параметр «Поле с файлом CSV» не заполнен: укажите код поля UF_CRM_...")
    if not is_uf_code(field):
        raise PropertyError(f"Параметр «Поле с файлом CSV»: ожидается код поля UF_CRM_..., получено «{field}»")
    return ImportRequest(
        doc=ctx.document, file_field=field, mode=props.choice(ctx.props, "mode", ("append", "replace"), "append"),  # type: ignore[arg-type]
        create_products=props.flag(ctx.props, "create_products"), dry_run=props.flag(ctx.props, "dry_run"),
        max_bytes=ctx.pc.cfg.max_csv_bytes, client_endpoint=ctx.pc.installation.client_endpoint)


def run(ctx: RobotContext) -> dict[str, Any]:
    req = request_from(ctx)
    settings = ctx.settings()
    try:
        result = run_import(ctx.rest, ctx.portal, settings, req, ctx.checkpoints(), ctx.progress)
    except CsvError as exc:
        return {"error": exc.user_message, "report": "\n".join(exc.issues) or exc.user_message,
                "rows_added": 0, "rows_updated": 0, "rows_skipped": 0, "products_created": 0}
    values = result.returns()
    if req.dry_run:
        return values
    filename = ctx.job.progress.get("filename", "CSV")
    try:
        item, rows, totals = compute_totals(ctx.rest, ctx.portal, ctx.document, require_prices=False)
        write_sum(ctx.rest, ctx.document, item, totals)
    except RestError as exc:
        if exc.retryable:
            raise  # the job resumes: the rows are checkpointed, only the sum is done again
        # The rows are in: say so with the true counts, and what did not happen, rather than "nothing added".
        values["error"] = (f"Позиции записаны (добавлено {result.rows_added}, обновлено {result.rows_updated}), "
                           f"но сумма не пересчитана: {exc.user_message}. Запустите робот «Пересчитать сумму».")
        if ctx.document.is_deal:
            ctx.history(ctx.document.id, "import", f"{values['error']} Файл «{filename}».",
                        details={"file": filename, "mode": req.mode, **values})
        return values
    values["sum"] = as_text(totals.sum)
    summary = result.summary(filename, totals.sum)
    deal_id = deal_of(ctx.document, item)
    if deal_id:
        ctx.history(deal_id, "import", summary, details={"file": filename, "mode": req.mode, **values})
    from b24goods.bitrix import crm

    crm.timeline_note(ctx.rest, ctx.document, "Импорт товаров из CSV", summary)
    return values


ACTIVITY = Activity(
    code="b24goods_import_csv",
    function="import_csv",
    name_ru="Импорт товаров из CSV (Товары и услуги)",
    name_en="Import goods from CSV (Goods and services)",
    description_ru="Загружает товары и услуги из CSV-файла (Excel) в сделку или изделие, при необходимости "
                   "создаёт товары в каталоге, без дублей.",
    description_en="Loads goods and services from a CSV file into the deal or item, optionally creating catalog "
                   "products, never duplicating.",
    run=run,
    long_running=True,
    properties={
        "file_field": Prop("Поле с файлом CSV (код UF)", "File field with the CSV (UF code)", required=True),
        "mode": Prop("Режим", "Mode", "select", default="append",
                     options={"append": "Добавить к позициям", "replace": "Заменить позиции"}),
        "create_products": Prop("Создавать товары в каталоге", "Create catalog products", "bool", default="N"),
        "dry_run": Prop("Пробный запуск (ничего не записывать)", "Dry run (write nothing)", "bool", default="N"),
    },
    returns={
        "rows_added": Prop("Добавлено строк", "Rows added", "int"),
        "rows_updated": Prop("Обновлено строк", "Rows updated", "int"),
        "rows_skipped": Prop("Пропущено строк", "Rows skipped", "int"),
        "products_created": Prop("Создано товаров", "Products created", "int"),
        "sum": Prop("Сумма", "Sum", "double"),
        "report": Prop("Отчёт", "Report", "text"),
    },
)
