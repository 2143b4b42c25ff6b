"""The sandbox portal's state and the portal's own behaviour (tokens, limits, automation, events).

Plays what a Bitrix24 portal does around REST: issues and expires OAuth tokens, applies the leaky-bucket
rate limit (50 burst, 2/s drain, ``limits.md``), keeps CRM data, runs the robots an admin placed on a stage
when a deal or item enters it (POSTing the documented form-encoded robot call through a background "queue
server"), and sends bound events to handlers the same way.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import requests

from b24goods.bitrix.phpform import flatten

DEAL = 2
R2 = Decimal("0.01")


def r2(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(R2, rounding=ROUND_HALF_UP)


class RestFault(Exception):
    """An error answer of the portal: ``{"error": code, "error_description": text}`` with an HTTP status."""

    def __init__(self, code: Any, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.status = status


@dataclass
class Token:
    user_id: int
    expires: float
    kind: str = "oauth"  # oauth | webhook


@dataclass
class Workflow:
    workflow_id: str
    event_token: str
    code: str
    document: tuple[int, int]
    properties: dict[str, Any]
    status: str = "running"  # running | done | failed-to-deliver
    return_values: dict[str, Any] | None = None
    log_message: str | None = None
    logs: list[str] = field(default_factory=list)
    http_status: int | None = None
    ignored_sends: int = 0


class Bucket:
    """Leaky bucket: each request adds 1; the level drains at ``rate`` per second; over ``burst`` → 503."""

    def __init__(self, burst: int = 50, rate: float = 2.0) -> None:
        self.burst, self.rate = burst, rate
        self.level = 0.0
        self.at = time.monotonic()
        self.rejected = 0

    def take(self) -> bool:
        now = time.monotonic()
        self.level = max(0.0, self.level - (now - self.at) * self.rate)
        self.at = now
        if self.level + 1 > self.burst:
            self.rejected += 1
            return False
        self.level += 1
        return True


class Portal:
    """All state of one sandbox portal. Every public method takes the lock."""

    def __init__(self, base_url: str = "http://127.0.0.1:0", *, member_id: str | None = None,
                 client_id: str = "local.b24goods.sandbox", client_secret: str = "sandbox-secret") -> None:
        self.lock = threading.RLock()
        self.base_url = base_url
        self.member_id = member_id or uuid.uuid4().hex
        self.client_id, self.client_secret = client_id, client_secret
        self.application_token = secrets.token_hex(16)
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, int] = {}
        self.webhooks: dict[tuple[int, str], list[str]] = {}
        self.token_ttl = 3600.0
        self.rate_limit: Bucket | None = None
        self.latency = 0.0
        self.operating_limit: dict[str, float] = {}  # method → seconds budget left (429 when exhausted)
        self.ids = itertools.count(1)
        self.items: dict[int, dict[int, dict[str, Any]]] = {DEAL: {}}
        self.types: dict[int, dict[str, Any]] = {}
        self.rows: dict[int, dict[str, Any]] = {}
        self.products: dict[int, dict[str, Any]] = {}
        self.prices: list[dict[str, Any]] = []
        self.users: dict[int, dict[str, Any]] = {}
        self.tasks: dict[int, dict[str, Any]] = {}
        self.task_comments: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self.timeline: list[dict[str, Any]] = []
        self.robots: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.placements: list[dict[str, Any]] = []
        self.automation: dict[tuple[int, str], list[dict[str, Any]]] = {}
        self.workflows: dict[str, Workflow] = {}
        self.files: dict[int, dict[str, Any]] = {}
        # A method the portal refuses (a user without rights, an object deleted meanwhile): name, params →
        # the fault to answer with, or None to run it. Batch sub-commands are asked one by one.
        self.refuse: Callable[[str, dict[str, Any]], RestFault | None] | None = None
        self.omit_totals = False  # True: list answers carry ``next`` but no ``total`` (tolerance tests)
        self.file_proxy_auth = False  # True: a file link answers 401 unless it carries a valid ``auth`` token
        self.calls: list[str] = []  # every REST method called, in order (batch sub-calls included)
        self.http_calls = 0
        self.event_log: list[dict[str, Any]] = []  # events delivered (name, id, status)
        self.event_filter: Callable[[str, dict[str, Any]], list[dict[str, Any]]] | None = None
        self.iblock_id, self.offers_iblock_id, self.article_property_id = 23, 25, 105
        self._pending: list[Future[None]] = []
        self._session = requests.Session()
        self._session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=16))
        self._queue = ThreadPoolExecutor(max_workers=16, thread_name_prefix="sandbox-queue")

    # ids & time ------------------------------------------------------------------------------------
    def next_id(self) -> int:
        return next(self.ids)

    @property
    def domain(self) -> str:
        return self.base_url.split("://", 1)[1].rstrip("/")

    @property
    def client_endpoint(self) -> str:
        return f"{self.base_url}/rest/"

    # tokens ----------------------------------------------------------------------------------------
    def issue_tokens(self, user_id: int) -> dict[str, Any]:
        with self.lock:
            access, refresh = secrets.token_hex(16), secrets.token_hex(16)
            expires = time.time() + self.token_ttl
            self.tokens[access] = Token(user_id, expires)
            self.refresh_tokens[refresh] = user_id
            return {"access_token": access, "refresh_token": refresh, "expires": int(expires),
                    "expires_in": int(self.token_ttl), "user_id": user_id}

    def auth_block(self, user_id: int, with_tokens: bool = True) -> dict[str, Any]:
        block: dict[str, Any] = {
            "domain": self.domain, "client_endpoint": self.client_endpoint,
            "server_endpoint": f"{self.base_url}/rest/", "member_id": self.member_id,
            "application_token": self.application_token, "status": "L", "scope": "crm,bizproc,catalog,im,task,user,placement,disk"}
        if with_tokens:
            block.update(self.issue_tokens(user_id))
        return block

    def placement_request(self, code: str, item_id: int, user_id: int) -> tuple[str, dict[str, Any]] | None:
        """URL and form body of a tab's handler call (``widgets/placement-bind.md``: query DOMAIN, PROTOCOL,
        LANG, APP_SID; body AUTH_ID, AUTH_EXPIRES, REFRESH_ID, SERVER_ENDPOINT, APPLICATION_TOKEN, member_id...)."""
        import json
        from urllib.parse import urlencode

        bound = next((b for b in self.placements if b["placement"] == code), None)
        if bound is None:
            return None
        tokens = self.issue_tokens(user_id)
        query = urlencode({"DOMAIN": self.domain, "PROTOCOL": "0", "LANG": "ru", "APP_SID": secrets.token_hex(8)})
        form = {"AUTH_ID": tokens["access_token"], "AUTH_EXPIRES": "3600", "REFRESH_ID": tokens["refresh_token"],
                "SERVER_ENDPOINT": f"{self.base_url}/rest/", "APPLICATION_TOKEN": self.application_token,
                "APPLICATION_SCOPE": "crm,bizproc,catalog,im,task,user,placement,disk", "member_id": self.member_id,
                "status": "L", "PLACEMENT": code,
                "PLACEMENT_OPTIONS": json.dumps({"ID": str(item_id), "URI": f"/crm/deal/details/{item_id}/"})}
        sep = "&" if "?" in bound["handler"] else "?"
        return f"{bound['handler']}{sep}{query}", form

    def expire_all_tokens(self) -> None:
        with self.lock:
            for token in self.tokens.values():
                token.expires = 0

    def add_webhook(self, user_id: int, scopes: list[str] | None = None) -> str:
        code = secrets.token_hex(8)
        self.webhooks[(user_id, code)] = scopes or ["crm", "catalog", "user", "task", "im"]
        return f"{self.base_url}/rest/{user_id}/{code}/"

    def authenticate(self, token: str | None) -> Token:
        if not token:
            raise RestFault("NO_AUTH_FOUND", "Wrong authorization data", 401)
        found = self.tokens.get(token)
        if found is None:
            raise RestFault("invalid_token", "Unable to get application by token", 401)
        if found.expires <= time.time():
            raise RestFault("expired_token", "The access token provided has expired.", 401)
        return found

    def oauth_refresh(self, params: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            if params.get("grant_type") != "refresh_token":
                raise RestFault("invalid_request", "grant_type must be refresh_token", 400)
            if params.get("client_id") != self.client_id or params.get("client_secret") != self.client_secret:
                raise RestFault("invalid_client", "Invalid client credentials", 401)
            user_id = self.refresh_tokens.pop(params.get("refresh_token", ""), None)
            if user_id is None:
                raise RestFault("invalid_grant", "Invalid refresh token", 400)
            out = self.issue_tokens(user_id)
            return {**out, "scope": "app", "domain": "oauth." + self.domain.split(":")[0],
                    "server_endpoint": f"{self.base_url}/rest/", "client_endpoint": self.client_endpoint,
                    "member_id": self.member_id, "status": "L"}

    # limits ----------------------------------------------------------------------------------------
    def enable_rate_limit(self, burst: int = 50, rate: float = 2.0) -> None:
        self.rate_limit = Bucket(burst, rate)

    def admit(self) -> None:
        with self.lock:
            self.http_calls += 1
            if self.rate_limit and not self.rate_limit.take():
                raise RestFault("QUERY_LIMIT_EXCEEDED", "Too many requests", 503)

    # the queue server ------------------------------------------------------------------------------
    def post_async(self, url: str, data: dict[str, Any], on_done: Callable[[int | None], None] | None = None,
                   delay: float = 0.0) -> None:
        """Deliver a form-encoded POST in the background, as Bitrix24's queue servers do (no retries)."""
        def deliver() -> None:
            if delay:
                time.sleep(delay)
            status: int | None
            try:
                status = self._session.post(url, data=flatten(data), timeout=60).status_code
            except requests.RequestException:
                status = None
            if on_done:
                on_done(status)

        future = self._queue.submit(deliver)
        with self.lock:
            self._pending = [f for f in self._pending if not f.done()]
            self._pending.append(future)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every background delivery has been answered."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                pending = [f for f in self._pending if not f.done()]
            if not pending:
                return
            wait(pending, timeout=max(0.01, deadline - time.monotonic()))
            if time.monotonic() > deadline:
                return

    # automation ------------------------------------------------------------------------------------
    def place_robot(self, entity_type_id: int, stage_id: str, code: str, properties: dict[str, Any] | None = None,
                    run_as: int = 1) -> None:
        """What an admin does in the automation designer: put a robot on a stage."""
        with self.lock:
            self.automation.setdefault((entity_type_id, stage_id), []).append(
                {"code": code, "properties": properties or {}, "run_as": run_as})

    def stage_entered(self, entity_type_id: int, item_id: int, stage_id: str) -> list[str]:
        started = []
        for robot in self.automation.get((entity_type_id, stage_id), []):
            started.append(self.start_robot(entity_type_id, item_id, robot["code"], robot["properties"],
                                            robot["run_as"]))
        return started

    def start_robot(self, entity_type_id: int, item_id: int, code: str, properties: dict[str, Any],
                    run_as: int = 1) -> str:
        with self.lock:
            reg = self.robots.get(code)
            if reg is None:
                raise RestFault("ERROR_ACTIVITY_NOT_FOUND", f"robot {code} is not registered", 400)
            workflow_id = f"{uuid.uuid4().hex[:14]}.{secrets.randbelow(10**8):08d}"
            sig = hashlib.sha256(f"{workflow_id}{secrets.token_hex(8)}".encode()).hexdigest()[:32]
            event_token = f"{workflow_id}|A{secrets.randbelow(10**5)}_{secrets.randbelow(10**5)}|{sig}"
            doc = self._document_id(entity_type_id, item_id)
            wf = Workflow(workflow_id, event_token, code, (entity_type_id, item_id), properties)
            self.workflows[event_token] = wf
            user = int(reg.get("AUTH_USER_ID") or run_as or 1)
            payload = {
                "workflow_id": workflow_id, "code": code, "document_id": doc,
                "document_type": [doc[0], doc[1], doc[2].rsplit("_", 1)[0]],
                "event_token": event_token, "properties": self._externalize(reg, properties),
                "use_subscription": reg.get("USE_SUBSCRIPTION", "Y"), "timeout_duration": 0,
                "ts": int(time.time()), "auth": self.auth_block(user)}
            handler = reg["HANDLER"]

        def done(status: int | None) -> None:
            wf.http_status = status
            if status is None or status >= 400:
                wf.status = "failed-to-deliver" if wf.status == "running" else wf.status

        self.post_async(handler, payload, done)
        return event_token

    @staticmethod
    def _document_id(entity_type_id: int, item_id: int) -> list[str]:
        if entity_type_id == DEAL:
            return ["crm", "CCrmDocumentDeal", f"DEAL_{item_id}"]
        return ["crm", "Bitrix\\Crm\\Integration\\BizProc\\Document\\Dynamic", f"DYNAMIC_{entity_type_id}_{item_id}"]

    @staticmethod
    def _externalize(reg: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """Property values the way the robot runtime sends them: bool Y/N, users ``user_N``, dates site format."""
        out: dict[str, Any] = {}
        declared = {k.lower(): v for k, v in (reg.get("PROPERTIES") or {}).items()}
        for key, value in values.items():
            kind = str((declared.get(key.lower()) or {}).get("Type", "string"))
            if kind == "bool":
                value = "Y" if value in (True, "Y", "y", 1, "1") else "N"
            elif kind == "user":
                items = value if isinstance(value, list) else [value]
                value = [v if str(v).startswith(("user_", "group_")) else f"user_{v}" for v in items]
            elif kind == "date" and isinstance(value, str) and len(value) == 10 and value[4] == "-":
                value = f"{value[8:10]}.{value[5:7]}.{value[0:4]}"
            out[key] = value
        return out

    def wait_workflow(self, event_token: str, timeout: float = 60.0) -> Workflow:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            wf = self.workflows[event_token]
            if wf.status != "running":
                return wf
            time.sleep(0.02)
        return self.workflows[event_token]

    # events ----------------------------------------------------------------------------------------
    def emit(self, event: str, fields: dict[str, Any], user_id: int | None = 1) -> None:
        """Send ``event`` to every handler bound to it (form-encoded, as the portal does)."""
        with self.lock:
            bound = [e for e in self.events if e["event"].upper() == event.upper()]
        for binding in bound:
            payload = {"event": event.upper(), "event_handler_id": binding["id"], "data": {"FIELDS": fields},
                       "ts": int(time.time()),
                       "auth": self.auth_block(user_id or 1, with_tokens=user_id is not None)}
            deliveries = [payload]
            if self.event_filter:
                deliveries = self.event_filter(event.upper(), payload)
            for item in deliveries:
                record: dict[str, Any] = {"event": event.upper(), "fields": fields, "status": None}
                self.event_log.append(record)
                self.post_async(binding["handler"], item, functools.partial(record.__setitem__, "status"))
