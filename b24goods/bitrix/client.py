"""Bitrix24 REST client on ``requests``.

- JSON bodies (``settings/how-to-call-rest-api/general-principles.md``): form encoding of nested arrays has
  deleted whole row lists in other libraries (an empty ``rows`` means "delete all").
- ``batch`` (``batch.md``): at most 50 commands a call, chunked automatically; per-command errors come back
  typed, never raised for the whole batch. Empty sections may be JSON arrays, not objects.
- Paging (``list-methods-pecularities.md``, ``performance/huge-data.md``): 50 a page with ``start``/``next``;
  :meth:`RestClient.iter_keyset` uses ``start=-1`` with an ``>id`` filter for large lists (no COUNT).
- Limits (``limits.md``): 503 ``QUERY_LIMIT_EXCEEDED`` and 429 ``OPERATION_TIME_LIMIT`` are retried with
  exponential backoff and jitter, honouring ``operating_reset_at``; connection errors and 5xx are retried only
  for calls that are safe to repeat.
- ``expired_token`` → one refresh through the portal's token source (which serialises refreshes per portal
  across instances with a lease in the store), then the call is repeated.

Nothing here logs a parameter, a token or a URL with credentials: only method names and error codes.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import requests

from .. import redact
from ..errors import RateLimited, RestError, ServerError, TokenExpired, TransportError, rest_error_from
from .phpform import build_query

log = logging.getLogger(__name__)
redact.install()  # urllib3 logs request lines, query strings included, at DEBUG

_NUMBER_MARK = "\u0001b24dec\u0001"  # a control character: json.dumps always escapes it, no text carries it
_MARKED_NUMBER = re.compile(r'"\\u0001b24dec\\u0001(-?[0-9]+(?:\.[0-9]+)?)\\u0001b24dec\\u0001"')


def _exact(value: Any) -> str:
    if isinstance(value, Decimal) and value.is_finite():
        return f"{_NUMBER_MARK}{format(value, 'f')}{_NUMBER_MARK}"
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_body(data: Any) -> bytes:
    """A JSON body with ``Decimal`` written as exact number literals: money never passes through a float
    on its way to the portal (``3434.40`` stays ``3434.40``, an 8-place unit price keeps all its digits)."""
    text = json.dumps(data, ensure_ascii=False, default=_exact)
    return _MARKED_NUMBER.sub(r"\1", text).encode("utf-8")


BATCH_LIMIT = 50
PAGE_SIZE = 50
USER_AGENT = "b24goods/1.0"
_SAFE_SUFFIXES = (".get", ".list", ".fields", ".search", ".getfields", ".current")


def is_safe_method(method: str) -> bool:
    lowered = method.lower()
    return lowered.endswith(_SAFE_SUFFIXES) or lowered in {"profile", "app.info", "user.get", "events"}


class TokenSource(Protocol):
    def access_token(self) -> str | None: ...

    def refresh(self, stale_token: str | None) -> str:
        """Return a fresh access token (refreshing it, or taking the one another instance just got)."""
        ...


class StaticToken:
    """A token that cannot be refreshed: the install call's, or the viewing user's in a card tab."""

    def __init__(self, token: str, expired_message: str = "the access token has expired") -> None:
        self.token = token
        self.expired_message = expired_message

    def access_token(self) -> str | None:
        return self.token

    def refresh(self, stale_token: str | None) -> str:
        from ..errors import CallerError

        raise CallerError(self.expired_message)


@dataclass
class Response:
    result: Any
    total: int | None = None
    next: int | None = None
    time: dict[str, Any] = field(default_factory=dict)


@dataclass
class BatchResult:
    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, RestError] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    nexts: dict[str, int] = field(default_factory=dict)

    def raise_first(self) -> None:
        if self.errors:
            raise next(iter(self.errors.values()))


@dataclass
class ClientStats:
    http_calls: int = 0
    retries: int = 0
    refreshes: int = 0
    batched_commands: int = 0
    by_method: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> dict[str, Any]:
        return {"http_calls": self.http_calls, "retries": self.retries, "refreshes": self.refreshes,
                "batched_commands": self.batched_commands, "by_method": dict(self.by_method)}


Command = tuple[str, str, Mapping[str, Any]]  # (key, method, params)


class RestClient:
    def __init__(self, base_url: str, *, tokens: TokenSource | None = None,
                 session: requests.Session | None = None, max_retries: int = 8, timeout: float = 65.0,
                 sleep: Callable[[float], None] = time.sleep, backoff_base: float = 0.5,
                 backoff_cap: float = 30.0) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.tokens = tokens
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self.max_retries = max_retries
        self.timeout = timeout
        self.sleep = sleep
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.stats = ClientStats()
        self._reset_at: dict[str, float] = {}

    # core -------------------------------------------------------------------------------------------
    def call(self, method: str, params: Mapping[str, Any] | None = None, *, safe: bool | None = None) -> Response:
        safe = is_safe_method(method) if safe is None else safe
        token = self.tokens.access_token() if self.tokens else None
        refreshed = False
        attempt = 0
        while True:
            try:
                return self._once(method, params or {}, token)
            except TokenExpired:
                if self.tokens is None or refreshed:
                    raise
                token = self.tokens.refresh(token)
                refreshed = True
                self.stats.refreshes += 1
            except (RateLimited, ServerError, TransportError) as exc:
                retry = isinstance(exc, RateLimited) or safe
                if not retry or attempt >= self.max_retries:
                    raise
                self.stats.retries += 1
                self.sleep(self._delay(method, exc, attempt))
                attempt += 1

    def result(self, method: str, params: Mapping[str, Any] | None = None, *, safe: bool | None = None) -> Any:
        return self.call(method, params, safe=safe).result

    def _delay(self, method: str, exc: RestError, attempt: int) -> float:
        if exc.code == "OPERATION_TIME_LIMIT" and method in self._reset_at:
            wait = self._reset_at[method] - time.time()
            if wait > 0:
                return float(min(wait + random.uniform(0, 1), 60.0))
        base = min(self.backoff_cap, self.backoff_base * (2 ** attempt))
        return base + random.uniform(0, base)  # noqa: S311 - jitter, not cryptography

    def _once(self, method: str, params: Mapping[str, Any], token: str | None) -> Response:
        body = dict(params)
        if token:
            body["auth"] = token
        self.stats.http_calls += 1
        self.stats.by_method[method] += 1
        try:
            resp = self.session.post(self.base_url + method, data=json_body(body), timeout=self.timeout,
                                     headers={"Content-Type": "application/json; charset=utf-8"})
        except requests.RequestException as exc:
            log.warning("bitrix24 %s: transport error %s", method, type(exc).__name__)
            raise TransportError(f"no answer from the portal: {type(exc).__name__}", code="TRANSPORT_ERROR",
                                 method=method) from None
        try:
            payload = resp.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise rest_error_from("", f"unexpected answer (HTTP {resp.status_code})", status=resp.status_code,
                                  method=method) if resp.status_code >= 400 else ServerError(
                f"unexpected answer (HTTP {resp.status_code})", code="ERROR_UNEXPECTED_ANSWER",
                status=resp.status_code, method=method)
        if "error" in payload and "result" not in payload:
            err = rest_error_from(payload.get("error"), payload.get("error_description"),
                                  status=resp.status_code, method=method)
            log.info("bitrix24 %s: %s (HTTP %s)", method, err.code, resp.status_code)
            raise err
        if resp.status_code >= 500:
            raise ServerError(f"HTTP {resp.status_code}", code="INTERNAL_SERVER_ERROR", status=resp.status_code,
                              method=method)
        timing = payload.get("time") or {}
        if isinstance(timing, dict) and timing.get("operating_reset_at"):
            self._reset_at[method] = float(timing["operating_reset_at"])
        return Response(payload.get("result"), _opt_int(payload.get("total")), _opt_int(payload.get("next")),
                        timing if isinstance(timing, dict) else {})

    # batch ------------------------------------------------------------------------------------------
    def batch(self, commands: Sequence[Command], *, halt: bool = False) -> BatchResult:
        """Run any number of commands, 50 per HTTP call. Keys must not look like numbers."""
        out = BatchResult()
        for start in range(0, len(commands), BATCH_LIMIT):
            chunk = commands[start:start + BATCH_LIMIT]
            cmd = {key: f"{method}?{build_query(params)}" if params else method for key, method, params in chunk}
            safe = all(is_safe_method(method) for _, method, _ in chunk)
            self.stats.batched_commands += len(chunk)
            res = self.result("batch", {"halt": 1 if halt else 0, "cmd": cmd}, safe=safe) or {}
            keys = [key for key, _, _ in chunk]
            results = _section(res.get("result"), keys)
            out.results.update(results)
            for key, raw in _errors_section(res.get("result_error"), keys, results).items():
                method = next(m for k, m, _ in chunk if k == key)
                if isinstance(raw, dict):
                    out.errors[key] = rest_error_from(raw.get("error"), raw.get("error_description"), method=method)
                else:
                    out.errors[key] = rest_error_from("", raw, method=method)
            out.totals.update({k: int(v) for k, v in _section(res.get("result_total"), keys).items()})
            out.nexts.update({k: int(v) for k, v in _section(res.get("result_next"), keys).items()})
            if halt and out.errors:
                break
        return out

    # lists ------------------------------------------------------------------------------------------
    def list_all(self, method: str, params: Mapping[str, Any] | None = None, *,
                 items_key: str | None = None, limit: int | None = None) -> list[Any]:
        """All pages of a list method (``start`` / ``next``). ``items_key`` unwraps ``{"items": [...]}``."""
        params = dict(params or {})
        out: list[Any] = []
        start = 0
        while True:
            resp = self.call(method, {**params, "start": start})
            out.extend(_items(resp.result, items_key))
            if resp.next is None or (limit is not None and len(out) >= limit):
                return out
            start = resp.next

    def iter_keyset(self, method: str, params: Mapping[str, Any] | None = None, *, items_key: str | None = None,
                    id_field: str = "id") -> Iterator[Any]:
        """Large lists: order by id, filter ``>id``, ``start=-1`` (no COUNT on the portal's side)."""
        params = dict(params or {})
        base_filter = dict(params.pop("filter", {}) or {})
        last = 0
        while True:
            resp = self.call(method, {**params, "order": {id_field: "ASC"},
                                      "filter": {**base_filter, f">{id_field}": last}, "start": -1})
            page = _items(resp.result, items_key)
            yield from page
            if len(page) < PAGE_SIZE:
                return
            last = int(page[-1].get(id_field) or page[-1].get(id_field.upper()))


def _opt_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _items(result: Any, items_key: str | None) -> list[Any]:
    if items_key and isinstance(result, dict):
        result = result.get(items_key)
    if isinstance(result, dict):
        return list(result.values())
    return list(result or [])


def _errors_section(value: Any, keys: list[str], results: dict[str, Any]) -> dict[str, Any]:
    """``result_error`` by command. A keyless list (seen from real portals) is laid over the commands that
    have no result, in order; one that cannot be laid over them marks each of those commands failed, so a
    failed command never passes for an empty success."""
    errors = _section(value, keys)
    if errors or not (isinstance(value, list) and value):
        return errors
    missing = [key for key in keys if key not in results]
    if len(missing) == len(value):
        return dict(zip(missing, value, strict=True))
    text = "; ".join(str(v.get("error_description") or v.get("error")) if isinstance(v, dict) else str(v)
                     for v in value)
    return {key: {"error": "BATCH_ERROR", "error_description": text} for key in missing}


def _section(value: Any, keys: list[str]) -> dict[str, Any]:
    """Batch sections are objects keyed by command, or JSON arrays when empty/keyless (a known quirk)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        if len(value) == len(keys):
            return dict(zip(keys, value, strict=True))
        return {}
    return {}
