"""``b24goods_import_csv``: goods and services from a CSV in a file field straight into the deal or item.

Runs as a durable job (the robot waits; progress goes to the workflow log); see
:mod:`b24goods.importing.run` for the steps and the guarantees (nothing written for an invalid file, no
duplicate rows or products, resumable after a crash).
"""

from __future__ import annotations

from typing import Any

from b24goods.errors import CsvError, PropertyError
from b24goods.importing.fetch import is_uf_code
from b24goods.importing.run import ImportRequest, finish_import, run_import
from b24goods.robot import RobotContext
from b24goods.totals import as_text

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
    done = finish_import(ctx.rest, ctx.portal, ctx.document, result, ctx.job.progress.get("filename", "CSV"),
                         mode=req.mode, source=ctx.call.code, user_id=ctx.user_id)
    if done.sum is not None:
        values["sum"] = as_text(done.sum)
    if done.error:
        values["error"] = done.error
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
