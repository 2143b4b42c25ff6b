"""The flow of a robot call (DESIGN §2): verify → dedupe → run or enqueue → exactly one answer.

The job record is the idempotency record: it is created with ``create()`` semantics under a key derived
from ``event_token``, so a repeated call finds it and does nothing. A job runs under a lease; its progress
lives in the store; it ends with one ``bizproc.event.send`` carrying the return values, or ``error`` plus a
``LOG_MESSAGE``. A retryable failure (rate limit, transport, contention) leaves the job pending for the
worker to resume.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .bitrix import crm
from .bitrix.payloads import DocumentRef, RobotCall
from .context import PortalContext, portal_context
from .errors import B24GoodsError, PayloadError
from .store.base import DocumentStore, now_utc
from .store.models import HistoryEntry, Job, Settings
from .store.portal import PortalStore, token_key

if TYPE_CHECKING:
    from activities.base import Activity

log = logging.getLogger(__name__)

LEASE_SECONDS = float(os.environ.get("B24GOODS_JOB_LEASE", "120"))
MAX_ATTEMPTS = 5
OPEN_JOBS = ("_system", "open_jobs")  # global index the worker scans to resume jobs after a crash
FINISHED_JOB_TTL = timedelta(days=30)


@dataclass
class RobotContext:
    """What an activity's ``run`` gets: the call, the portal, and helpers that keep the rules in one place."""

    call: RobotCall
    pc: PortalContext
    job: Job
    logs: list[str] = field(default_factory=list)

    @property
    def rest(self):  # type: ignore[no-untyped-def]
        return self.pc.rest

    @property
    def portal(self) -> PortalStore:
        return self.pc.portal

    @property
    def props(self) -> dict[str, Any]:
        return self.call.properties

    @property
    def document(self) -> DocumentRef:
        return self.call.document

    @property
    def user_id(self) -> int | None:
        return self.call.auth.user_id

    def settings(self) -> Settings:
        return self.pc.settings()

    def progress(self, message: str) -> None:
        """A line in the workflow log while the step keeps waiting (``bizproc.activity.log``)."""
        self.logs.append(message)
        try:
            crm.activity_log(self.rest, self.call.event_token, message)
        except B24GoodsError as exc:  # progress is best effort; the final answer is not
            log.info("activity.log failed: %s", exc.code)

    def checkpoint(self, **progress: Any) -> Job:
        """Persist the operation's progress, so a resumed job continues from here."""
        def change(job: Job) -> Job:
            job.progress.update(progress)
            job.lease_until = time.time() + LEASE_SECONDS
            return job

        updated = self.portal.update_job(self.job.id, change)
        if updated is not None:
            self.job = updated
        return self.job

    def checkpoints(self) -> JobCheckpoints:
        return JobCheckpoints(self)

    def history(self, deal_id: int, action: str, summary: str, **extra: Any) -> None:
        self.portal.add_history(deal_id, HistoryEntry(
            at=now_utc().isoformat(), action=action, source=self.call.code, user_id=self.user_id,
            deal_id=deal_id, document=self.document.key, summary=summary, **extra))


class JobCheckpoints:
    """Progress of a long operation, in the job document and its ``chunks`` subcollection."""

    def __init__(self, ctx: RobotContext) -> None:
        self.ctx = ctx

    @property
    def progress(self) -> dict[str, Any]:
        return self.ctx.job.progress

    def save(self, **values: Any) -> None:
        self.ctx.checkpoint(**values)

    def _coll(self) -> str:
        return f"jobs/{self.ctx.job.id}/chunks"

    def chunk(self, index: int) -> dict[str, Any]:
        return self.ctx.portal.store.get(self.ctx.portal.member_id, self._coll(), f"{index:06d}") or {}

    def save_chunk(self, index: int, doc: dict[str, Any]) -> None:
        self.ctx.portal.store.put(self.ctx.portal.member_id, self._coll(), f"{index:06d}", doc)
        self.ctx.checkpoint()  # renews the lease


class JobBusy(B24GoodsError):
    """The job runs on another worker (its lease is valid): try again later."""

    code = "JOB_BUSY"
    retryable = True


def job_id_for(call: RobotCall) -> str:
    return token_key(call.event_token)[:40]


def stored_call(call: RobotCall) -> dict[str, Any]:
    """The call as kept in the job: without the caller's tokens (REST uses the portal's own pair)."""
    data = call.model_dump(mode="json")
    data["auth"] = {k: data["auth"].get(k) for k in ("member_id", "domain", "user_id", "client_endpoint")}
    return data


def accept_call(db: DocumentStore, portal: PortalStore, call: RobotCall, activity: Activity) -> tuple[Job, bool]:
    """Create the job for a verified call; ``False`` when this ``event_token`` was seen before."""
    if call.code != activity.code:
        raise PayloadError(f"robot code {call.code!r} does not belong to this function ({activity.code})")
    job = Job(id=job_id_for(call), member_id=portal.member_id, kind=activity.code, call=stored_call(call),
              created_at=now_utc().isoformat())
    created = portal.create_job(job)
    if created:
        db.put(*OPEN_JOBS, f"{portal.member_id}:{job.id}", {"member_id": portal.member_id, "job_id": job.id})
    return job, created


def _claim(portal: PortalStore, job_id: str) -> Job | None:
    claimed = False

    def change(job: Job) -> Job | None:
        nonlocal claimed
        claimed = False  # the mutator re-runs when a transaction retries: only its last run counts
        if job.state in ("done", "failed"):
            return None
        if job.state == "running" and job.lease_until > time.time():
            return None
        claimed = True
        job.state = "running"
        job.attempts += 1
        job.lease_until = time.time() + LEASE_SECONDS
        return job

    job = portal.update_job(job_id, change)
    return job if claimed else None


def run_job(db: DocumentStore, member_id: str, job_id: str) -> Job | None:
    """Run (or resume) one job. Safe to call any number of times, from any worker."""
    from activities import by_code

    portal = PortalStore(db, member_id)
    job = _claim(portal, job_id)
    if job is None:
        existing = portal.job(job_id)
        if existing and existing.state in ("done", "failed") and not existing.answered:
            return _answer(db, portal, existing, by_code(existing.kind))
        if existing and existing.state == "running":
            raise JobBusy(f"job {job_id} is running elsewhere")
        return existing
    activity = by_code(job.kind)
    call = RobotCall.model_validate(job.call)
    values: dict[str, Any]
    try:
        pc = portal_context(portal)
        values = activity.run(RobotContext(call=call, pc=pc, job=job))
        state, error, code = "done", None, None
    except B24GoodsError as exc:
        if exc.retryable and job.attempts < MAX_ATTEMPTS:
            log.info("job %s: retryable %s, attempt %s", job_id, exc.code, job.attempts)
            portal.update_job(job_id, lambda j: _release(j))
            raise
        values, state, error, code = activity.empty_returns(), "failed", exc.user_message, exc.code
    except Exception as exc:  # an unexpected bug still answers the business process
        log.error("job %s failed: %s", job_id, traceback.format_exception_only(type(exc), exc)[-1].strip())
        values, state, error, code = activity.empty_returns(), "failed", "Внутренняя ошибка приложения", "INTERNAL"

    def finish(j: Job) -> Job:
        j.state = state  # type: ignore[assignment]
        j.result = values
        j.error = error
        j.error_code = code
        return j

    job = portal.update_job(job_id, finish) or job
    return _answer(db, portal, job, activity)


def _release(job: Job) -> Job:
    job.state = "pending"
    job.lease_until = 0.0
    return job


def _answer(db: DocumentStore, portal: PortalStore, job: Job, activity: Activity) -> Job:
    """One ``bizproc.event.send`` per job (the portal ignores sends after the step closed)."""
    call = RobotCall.model_validate(job.call)
    values = {**activity.empty_returns(), **(job.result or {})}
    values["error"] = job.error or str(values.get("error") or "")
    message = f"Ошибка: {values['error']}" if values["error"] else _summary(values)
    if call.use_subscription.upper() != "N":
        crm.event_send(portal_context(portal).rest, call.event_token, _wire_values(values), message)

    def answered(j: Job) -> Job:
        j.answered = True
        return j

    job = portal.update_job(job.id, answered) or job
    db.delete(*OPEN_JOBS, f"{portal.member_id}:{job.id}")
    db.put(portal.member_id, "jobs", job.id, job.model_dump(mode="json"), expires_at=now_utc() + FINISHED_JOB_TTL)
    return job


def _wire_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if not isinstance(v, (int, str, bool)) else v) for k, v in values.items()}


def _summary(values: dict[str, Any]) -> str:
    report = values.get("report")
    if report:
        return str(report)
    return "; ".join(f"{k}={v}" for k, v in values.items() if k != "error" and v not in ("", None))[:1000]


def open_jobs(db: DocumentStore, limit: int = 200) -> list[tuple[str, str]]:
    return [(d["member_id"], d["job_id"]) for _, d in db.list(*OPEN_JOBS, limit=limit)]


def forget_open_jobs(db: DocumentStore, member_id: str, page: int = 200) -> int:
    """Take a portal's jobs out of the global index (its data is being deleted): keys ``<member_id>:<job>``
    sort together, so only that portal's entries are read."""
    prefix, forgotten = f"{member_id}:", 0
    while True:
        batch = [k for k, _ in db.list(*OPEN_JOBS, limit=page, start_after=prefix) if k.startswith(prefix)]
        for key in batch:
            db.delete(*OPEN_JOBS, key)
        forgotten += len(batch)
        if len(batch) < page:
            return forgotten


def new_worker_id() -> str:
    return uuid.uuid4().hex
