"""The import operation, resumable at every step (used by the robot, the CLI and the placement tab).

1. Plan (once): download and parse the file, read the document's rows, match the catalog, build the plan and
   store it in chunks of 50 operations. Nothing is written to the portal when any row is invalid.
2. Create missing products (each once: deterministic ``xmlId`` + a claim in the store).
3. Write chunk by chunk, one batch each. A chunk is marked ``sent`` before its batch and ``done`` with the
   new row ids after it; a chunk found ``sent`` on resume is reconciled against the portal (rows carry a
   unique ``sort`` marker), so a worker killed mid-import never writes a row twice.
4. Snapshot costs and executors per row, recalculate the sum (same code as ``recalc_sum``), write history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol

from .. import costs
from ..bitrix import crm
from ..bitrix.client import Command, RestClient
from ..bitrix.payloads import DocumentRef
from ..domain.csv_rows import parse_rows
from ..domain.csv_table import read_table
from ..domain.format import rub
from ..domain.import_plan import ImportPlan, PlannedRow, build_plan, describe
from ..domain.rows import ProductRow
from ..errors import CsvError, DomainError, NotFound, RestError
from ..store.base import now_utc
from ..store.models import HistoryEntry, Settings
from ..store.portal import PortalStore
from ..totals import as_text, compute_totals, deal_of, write_sum
from . import catalog

CHUNK = 50


class Checkpoints(Protocol):
    @property
    def progress(self) -> dict[str, Any]: ...

    def save(self, **values: Any) -> None: ...

    def chunk(self, index: int) -> dict[str, Any]: ...

    def save_chunk(self, index: int, doc: dict[str, Any]) -> None: ...


@dataclass
class MemoryCheckpoints:
    """For the CLI and dry runs: progress lives only as long as the process."""

    progress: dict[str, Any] = field(default_factory=dict)
    chunks: dict[int, dict[str, Any]] = field(default_factory=dict)

    def save(self, **values: Any) -> None:
        self.progress.update(values)

    def chunk(self, index: int) -> dict[str, Any]:
        return dict(self.chunks.get(index, {}))

    def save_chunk(self, index: int, doc: dict[str, Any]) -> None:
        self.chunks[index] = dict(doc)


@dataclass
class ImportRequest:
    doc: DocumentRef
    mode: Literal["append", "replace"] = "append"
    create_products: bool = False
    dry_run: bool = False
    file_field: str | None = None  # robot: the UF code holding the CSV
    data: bytes | None = None  # CLI / tab: the file itself
    filename: str = "import.csv"
    max_bytes: int = 5 * 1024 * 1024
    client_endpoint: str = ""


@dataclass
class ImportResult:
    rows_added: int = 0
    rows_updated: int = 0
    rows_skipped: int = 0
    rows_deleted: int = 0
    products_created: int = 0
    sum: Decimal | None = None
    report: str = ""
    plan: ImportPlan | None = None
    issues: list[str] = field(default_factory=list)  # errors and warnings, as the report shows them
    errors: list[str] = field(default_factory=list)  # the rows' errors alone (a dry run still plans the rest)

    def summary(self, filename: str, total: Decimal, where: str = "") -> str:
        """The history and timeline line of an import (``where``: " из вкладки" for the card tab)."""
        return (f"Импорт «{filename}»{where}: добавлено {self.rows_added}, обновлено {self.rows_updated}, "
                f"без изменений {self.rows_skipped}, удалено {self.rows_deleted}, новых товаров "
                f"{self.products_created}; сумма {rub(total)}")

    def returns(self) -> dict[str, Any]:
        return {"rows_added": self.rows_added, "rows_updated": self.rows_updated, "rows_skipped": self.rows_skipped,
                "products_created": self.products_created,
                "sum": "" if self.sum is None else f"{self.sum:.2f}", "report": self.report}


@dataclass
class Finished:
    """What an import's last step did: the history line, the sum written (``None``: the portal refused it)."""

    summary: str
    sum: Decimal | None
    error: str = ""


def finish_import(rest: RestClient, portal: PortalStore, doc: DocumentRef, result: ImportResult, filename: str,
                  *, mode: str, source: str, user_id: int | None, where: str = "") -> Finished:
    """After the rows are written, for the robot and the card tab alike: the document's sum from its live rows,
    the order's history line and the card's timeline note.

    A sum the portal refuses for good (the user may write rows, not the deal) leaves the rows in: the answer
    keeps the true counts and says what did not happen, rather than "nothing added". A retryable refusal
    propagates: a resumed job finds its rows checkpointed and only does the sum again.
    """
    def history(deal_id: int, summary: str, total: str) -> None:
        portal.add_history(deal_id, HistoryEntry(
            at=now_utc().isoformat(), action="import", source=source, user_id=user_id, deal_id=deal_id,
            document=doc.key, summary=summary, details={"file": filename, "mode": mode, **result.returns(),
                                                        "sum": total}))

    try:
        item, _, totals = compute_totals(rest, portal, doc, require_prices=False)
        write_sum(rest, doc, item, totals)
    except RestError as exc:
        if exc.retryable:
            raise
        error = (f"Позиции записаны (добавлено {result.rows_added}, обновлено {result.rows_updated}), но сумма "
                 f"не пересчитана: {exc.user_message}. Запустите робот «Пересчитать сумму».")
        if doc.is_deal:
            history(doc.id, f"{error} Файл «{filename}»{where}.", "")
        return Finished(error, None, error)
    summary = result.summary(filename, totals.sum, where)
    deal_id = deal_of(doc, item)
    if deal_id:
        history(deal_id, summary, as_text(totals.sum))
    crm.timeline_note(rest, doc, "Импорт товаров из CSV", summary)
    return Finished(summary, totals.sum)


Log = Callable[[str], None]


def plan_import(rest: RestClient, settings: Settings,
                req: ImportRequest) -> tuple[ImportPlan, str, list[str], list[ProductRow], list[str]]:
    """Everything up to the plan; raises :class:`CsvError` with every issue unless ``dry_run``."""
    if req.data is None:
        from .fetch import download

        data, filename = download(rest, req.doc, req.file_field or "", req.client_endpoint, req.max_bytes)
    else:
        data, filename = req.data, req.filename
        if len(data) > req.max_bytes:
            raise CsvError(f"Файл больше {req.max_bytes // (1024 * 1024)} МБ", code="FILE_TOO_LARGE")
    parsed = parse_rows(read_table(data, filename), filename, price_includes_vat_default=settings.csv_price_includes_vat,
                        default_vat=settings.default_vat_rate)
    issues = [i.text() for i in parsed.issues]
    if issues and not req.dry_run:
        raise CsvError(f"Файл «{filename}»: ошибок {len(issues)}, ничего не импортировано. " + "; ".join(issues[:20])
                       + ("; …" if len(issues) > 20 else ""), issues=issues)
    try:
        item, existing = crm.read_document(rest, req.doc)
    except NotFound:
        item, existing = {}, []
    if not item:
        raise DomainError(f"Документ {req.doc.key} не найден", code="DOCUMENT_NOT_FOUND")
    matches, units = catalog.lookup(rest, settings, parsed.rows, want_units=any(r.unit for r in parsed.rows))
    plan = build_plan(parsed.rows, matches, existing, mode=req.mode, create_products=req.create_products, units=units)
    return plan, filename, issues + parsed.warnings, existing, issues


def _ops(plan: ImportPlan, existing: list[ProductRow]) -> list[dict[str, Any]]:
    """The writes of a plan. Updates and deletes keep the row as it was (``before``), so a write the portal
    refuses halfway can be taken back: an import is applied whole or not at all."""
    before = {r.id: r.to_bitrix() for r in existing if r.id is not None}
    ops: list[dict[str, Any]] = []
    for r in plan.rows:
        if r.op == "update":
            ops.append({"op": "update", "planned": r.model_dump(mode="json"), "before": before.get(r.existing_row_id or 0)})
        elif r.op == "add":
            ops.append({"op": "add", "planned": r.model_dump(mode="json")})
    ops += [{"op": "delete", "row_id": rid, "before": before.get(rid)} for rid in plan.deletes]
    return ops


Progress = Callable[[int, int], None]


def run_import(rest: RestClient, portal: PortalStore | None, settings: Settings, req: ImportRequest,
               cp: Checkpoints, log: Log = lambda m: None, progress: Progress | None = None) -> ImportResult:
    result = ImportResult()
    if not cp.progress.get("planned"):
        plan, filename, notes, existing, errors = plan_import(rest, settings, req)
        result.plan, result.issues, result.errors = plan, notes, errors
        report = describe(plan, filename, errors, warnings=[n for n in notes if n not in errors])
        if req.dry_run:
            result.rows_added, result.rows_updated, result.rows_skipped = plan.count("add"), plan.count("update"), plan.count("skip")
            result.products_created, result.report = len(plan.drafts), "Пробный запуск, ничего не записано.\n" + report
            return result
        ops = _ops(plan, existing)
        chunks = [ops[i:i + CHUNK] for i in range(0, len(ops), CHUNK)]
        for index, chunk in enumerate(chunks):
            cp.save_chunk(index, {"state": "planned", "ops": chunk})
        cp.save(planned=True, filename=filename, chunks=len(chunks), report=report,
                base_row_ids=[r.id for r in existing], drafts=[d.model_dump(mode="json") for d in plan.drafts],
                counts={"add": plan.count("add"), "update": plan.count("update"), "skip": plan.count("skip"),
                        "delete": len(plan.deletes)},
                skipped_rows=[r.model_dump(mode="json") for r in plan.rows if r.op == "skip"])
        log(f"Импорт «{filename}»: план готов — {plan.count('add')} добавить, {plan.count('update')} обновить, "
            f"{len(plan.deletes)} удалить")
    state = cp.progress
    created: dict[str, int] = dict(state.get("created") or {})
    drafts = state.get("drafts") or []
    if drafts and len(created) < len(drafts):
        from ..domain.import_plan import ProductDraft

        if portal is None:
            raise CsvError("создание товаров требует установленного приложения", code="NO_STORE")
        created = catalog.create_products(rest, portal, settings, [ProductDraft.model_validate(d) for d in drafts], created)
        cp.save(created=created)
    written = _write_chunks(rest, req.doc, cp, created, log, progress)
    meta_rows = written + [PlannedRow.model_validate(r) for r in state.get("skipped_rows") or []]
    if portal is not None:
        _remember_meta(portal, req.doc, meta_rows)
    counts = state.get("counts") or {}
    result.rows_added, result.rows_updated = counts.get("add", 0), counts.get("update", 0)
    result.rows_skipped, result.rows_deleted = counts.get("skip", 0), counts.get("delete", 0)
    result.products_created = len(drafts)
    result.report = str(state.get("report", ""))
    return result


def _write_chunks(rest: RestClient, doc: DocumentRef, cp: Checkpoints, created: dict[str, int],
                  log: Log, progress: Progress | None = None) -> list[PlannedRow]:
    total = int(cp.progress.get("chunks", 0))
    base_ids = set(cp.progress.get("base_row_ids") or [])
    written: list[PlannedRow] = []
    for index in range(total):
        chunk = cp.chunk(index)
        ops = chunk.get("ops") or []
        if chunk.get("state") != "done":
            already: dict[int, int] = {}
            if chunk.get("state") == "sent":
                already = _reconcile(rest, doc, ops, base_ids)
            cp.save_chunk(index, {**chunk, "state": "sent"})
            sent = _send(rest, doc, ops, created, already)
            if sent.error is not None:
                if sent.error.retryable:
                    raise sent.error  # the job stays pending and resumes from this chunk
                _take_back(rest, doc, cp, index, ops, sent)
                raise ImportRefused(sent.error, sent.failed_line)
            chunk = {**chunk, "state": "done", "row_ids": sent.ids}
            cp.save_chunk(index, chunk)
            if progress:
                progress(index + 1, total)
            if total > 3 and index + 1 == total // 2:
                log(f"Импорт: записана половина ({(index + 1) * CHUNK} операций из ~{total * CHUNK})")
        for n, op in enumerate(ops):
            if op["op"] in ("add", "update"):
                planned = PlannedRow.model_validate(op["planned"])
                row_id = (chunk.get("row_ids") or {}).get(str(n)) if op["op"] == "add" else planned.existing_row_id
                planned.existing_row_id = int(row_id) if row_id else planned.existing_row_id
                written.append(planned)
    return written


def _row_fields(op: dict[str, Any], created: dict[str, int]) -> ProductRow:
    planned = PlannedRow.model_validate(op["planned"])
    row = ProductRow.model_validate(planned.row)
    if not row.product_id and planned.product_key in created:
        row.product_id = int(created[planned.product_key])
    return row


@dataclass
class Sent:
    """One chunk's batch: the rows it added and updated, and the first refusal (if any)."""

    ids: dict[str, int] = field(default_factory=dict)  # op index → new row id
    done: set[int] = field(default_factory=set)  # op indexes the portal carried out
    error: RestError | None = None
    failed_line: int | None = None


def _send(rest: RestClient, doc: DocumentRef, ops: list[dict[str, Any]], created: dict[str, int],
          already: dict[int, int]) -> Sent:
    adds, updates, deletes = [], [], []
    for n, op in enumerate(ops):
        if op["op"] == "add" and n not in already:
            adds.append((f"a{n}", _row_fields(op, created)))
        elif op["op"] == "update":
            updates.append((f"u{n}", int(op["planned"]["existing_row_id"]), _row_fields(op, created)))
        elif op["op"] == "delete":
            deletes.append((f"d{n}", int(op["row_id"])))
    res = rest.batch(crm.row_write_commands(doc, adds, updates, deletes))
    sent = Sent(ids={str(n): rid for n, rid in already.items()}, done=set(already))
    for key, err in res.errors.items():
        if key.startswith("d") and isinstance(err, NotFound):
            continue  # already gone: what a delete wants
        if sent.error is None or (sent.error.retryable and not err.retryable):
            sent.error = err
            sent.failed_line = (ops[int(key[1:])].get("planned") or {}).get("line")
    for key in [k for k, _ in adds] + [k for k, _, _ in updates] + [k for k, _ in deletes]:
        if key not in res.errors or (key.startswith("d") and isinstance(res.errors[key], NotFound)):
            sent.done.add(int(key[1:]))
    for key, _ in adds:
        rid = crm.added_row_id(res.results.get(key))
        if rid:
            sent.ids[key[1:]] = rid
    return sent


class ImportRefused(DomainError):
    """The portal refused a write for good: what the import had written is taken back."""

    code = "IMPORT_REFUSED"

    def __init__(self, cause: RestError, line: int | None) -> None:
        where = f"строку {line}" if line else "запись"
        super().__init__(f"Портал отклонил {where} ({cause.code}: {cause.message}); импорт отменён, позиции "
                         f"остались как были", code=self.code)
        self.cause = cause


def _take_back(rest: RestClient, doc: DocumentRef, cp: Checkpoints, failed: int, ops: list[dict[str, Any]],
               sent: Sent) -> None:
    """Undo every write of this import: rows added are deleted, rows updated get their values back, rows
    deleted (``replace``) come back as new rows with the same content. One batch (chunked by the client)."""
    commands: list[Command] = []
    for index in range(failed + 1):
        chunk: dict[str, Any] = cp.chunk(index) if index < failed else {"ops": ops, "row_ids": sent.ids}
        done = set(range(len(chunk.get("ops") or []))) if index < failed else sent.done
        for n, op in enumerate(chunk.get("ops") or []):
            if n not in done:
                continue
            if op["op"] == "add" and (chunk.get("row_ids") or {}).get(str(n)):
                commands.append((f"x{index}_{n}", "crm.item.productrow.delete", {"id": int(chunk["row_ids"][str(n)])}))
            elif op["op"] == "update" and op.get("before"):
                commands.append((f"x{index}_{n}", "crm.item.productrow.update", {
                    "id": int(op["planned"]["existing_row_id"]), "fields": op["before"]}))
            elif op["op"] == "delete" and op.get("before"):
                commands.append((f"x{index}_{n}", "crm.item.productrow.add", {
                    "fields": {"ownerId": doc.id, "ownerType": doc.owner_type, **op["before"]}}))
    if not commands:
        return
    res = rest.batch(commands)
    if res.errors:
        first = next(iter(res.errors.values()))
        raise DomainError(f"Портал отклонил запись, и откат импорта не завершён ({first.code}): проверьте позиции "
                          f"документа {doc.key} вручную", code="IMPORT_ROLLBACK_INCOMPLETE")
    cp.save(rolled_back=True)


def _reconcile(rest: RestClient, doc: DocumentRef, ops: list[dict[str, Any]], base_ids: set[int]) -> dict[int, int]:
    """Which adds of an interrupted chunk reached the portal: new rows with the op's sort marker and name."""
    current = [r for r in crm.list_rows(rest, doc) if r.id not in base_ids]
    found: dict[int, int] = {}
    taken: set[int] = set()
    for n, op in enumerate(ops):
        if op["op"] != "add":
            continue
        row = op["planned"]["row"]
        hit = next((r for r in current if r.id not in taken and r.sort == row["sort"]
                    and r.product_name.strip() == str(row["productName"]).strip()), None)
        if hit is not None and hit.id is not None:
            found[n] = hit.id
            taken.add(hit.id)
    return found


def _remember_meta(portal: PortalStore, doc: DocumentRef, rows: list[PlannedRow]) -> None:
    """Cost per row (for margin) and executor per row (for the executors robot), keyed by row id."""
    costs.remember(portal, doc, {r.existing_row_id: (None if r.cost is None else Decimal(r.cost))
                                 for r in rows if r.existing_row_id and r.cost is not None})

    def mutate(current: dict[str, Any] | None) -> dict[str, Any]:
        meta = dict((current or {}).get("rows") or {})
        for r in rows:
            if r.existing_row_id:
                meta[str(r.existing_row_id)] = {"executor": r.executor, "note": r.note, "line": r.line,
                                                "is_service": r.is_service}
        return {"rows": meta}

    portal.store.transact(portal.member_id, "row_meta", doc.key, mutate)
