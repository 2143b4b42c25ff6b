"""One error hierarchy for the whole application.

Every error has a stable ``code`` (what a business analyst or an integrator can search for), says whether a
retry can help (``retryable``) and renders a clear message for the business process (``user_message``, in
Russian, because that is what the portal's users read in the workflow log).

::

    B24GoodsError
    ├── InputError                  bad input from a user or a caller; retry never helps
    │   ├── PayloadError            a request body we cannot parse / a required key is missing
    │   ├── PropertyError           a robot property has a value we cannot use
    │   └── CsvError                a CSV file that cannot be imported (carries every issue found)
    ├── CallerError                 the caller is not who it claims to be (HTTP 401)
    │   ├── UnknownPortal           no installation stored for this member_id
    │   └── ForgedCall              application_token differs from the one stored at install
    ├── DomainError                 a business rule refuses the operation (deal not locked, no signed file...)
    ├── ConflictError               a concurrent change won; retrying re-reads and may succeed
    └── RestError                   Bitrix24 answered with an error
        ├── RateLimited             503 QUERY_LIMIT_EXCEEDED / 429 OPERATION_TIME_LIMIT (retryable)
        ├── TokenExpired            401 expired_token (retryable after a refresh)
        ├── AuthFailed              401/403 invalid token, wrong client, invalid_grant
        ├── AccessDenied            the token's user lacks rights, or scope missing
        ├── NotFound                the object or method does not exist
        ├── InvalidArgument         the portal rejected a parameter
        ├── ServerError             5xx from the portal (retryable for safe calls)
        └── TransportError          no answer at all: connection refused, timeout (retryable for safe calls)
"""

from __future__ import annotations

from typing import Any


class B24GoodsError(Exception):
    code = "B24GOODS_ERROR"
    retryable = False
    http_status = 500

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details

    @property
    def user_message(self) -> str:
        return self.message

    def __str__(self) -> str:  # pragma: no cover - trivial
        return f"{self.code}: {self.message}"


class InputError(B24GoodsError):
    code = "BAD_INPUT"
    http_status = 400


class PayloadError(InputError):
    code = "BAD_PAYLOAD"


class PropertyError(InputError):
    code = "BAD_PROPERTY"


class CsvError(InputError):
    """A CSV file that cannot be imported. ``issues`` lists every problem found (line, column, reason)."""

    code = "BAD_CSV"

    def __init__(self, message: str, *, issues: list[Any] | None = None, code: str | None = None) -> None:
        super().__init__(message, code=code, details=issues)
        self.issues = list(issues or [])


class CallerError(B24GoodsError):
    code = "UNAUTHORIZED"
    http_status = 401


class UnknownPortal(CallerError):
    code = "UNKNOWN_PORTAL"


class ForgedCall(CallerError):
    code = "FORGED_CALL"


class DomainError(B24GoodsError):
    code = "RULE_REFUSED"
    http_status = 409


class ConflictError(B24GoodsError):
    code = "CONFLICT"
    retryable = True
    http_status = 409


class RestError(B24GoodsError):
    """Bitrix24 answered with ``{"error": ..., "error_description": ...}``.

    ``error`` may be a string, an empty string (legacy ``crm.*`` methods) or a number (``0``, ``100``,
    ``200040300010``): :func:`rest_error_from` normalises all three.
    """

    code = "REST_ERROR"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 method: str | None = None) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.method = method

    @property
    def user_message(self) -> str:
        where = f" ({self.method})" if self.method else ""
        return f"Битрикс24 вернул ошибку {self.code}{where}: {self.message}"


class RateLimited(RestError):
    retryable = True


class TokenExpired(RestError):
    retryable = True


class AuthFailed(RestError):
    pass


class AccessDenied(RestError):
    @property
    def user_message(self) -> str:
        return f"Недостаточно прав в Битрикс24 ({self.method or 'REST'}): {self.message}"


class NotFound(RestError):
    @property
    def user_message(self) -> str:
        return f"Объект не найден в Битрикс24 ({self.method or 'REST'}): {self.message}"


class InvalidArgument(RestError):
    pass


class ServerError(RestError):
    retryable = True


class TransportError(RestError):
    retryable = True


_BY_CODE: dict[str, type[RestError]] = {
    "QUERY_LIMIT_EXCEEDED": RateLimited,
    "OPERATION_TIME_LIMIT": RateLimited,
    "OVERLOAD_LIMIT": RateLimited,
    "expired_token": TokenExpired,
    "invalid_token": AuthFailed,
    "NO_AUTH_FOUND": AuthFailed,
    "wrong_client": AuthFailed,
    "invalid_grant": AuthFailed,
    "invalid_client": AuthFailed,
    "ACCESS_DENIED": AccessDenied,
    "INVALID_CREDENTIALS": AccessDenied,
    "insufficient_scope": AccessDenied,
    "user_access_error": AccessDenied,
    "allowed_only_intranet_user": AccessDenied,
    "WRONG_AUTH_TYPE": AccessDenied,
    "200040300010": AccessDenied,
    "NOT_FOUND": NotFound,
    "ERROR_NOT_FOUND": NotFound,
    "OWNER_NOT_FOUND": NotFound,
    "ERROR_METHOD_NOT_FOUND": NotFound,
    "ERROR_ACTIVITY_NOT_FOUND": NotFound,
    "INVALID_ARG_VALUE": InvalidArgument,
    "ERROR_ARGUMENT": InvalidArgument,
    "INTERNAL_SERVER_ERROR": ServerError,
    "ERROR_UNEXPECTED_ANSWER": ServerError,
}

_BY_DESCRIPTION = (
    ("not found", NotFound),
    ("access denied", AccessDenied),
    ("is invalid or not defined", InvalidArgument),
)


def rest_error_from(error: Any, description: Any, *, status: int | None = None,
                    method: str | None = None) -> RestError:
    """Map a Bitrix24 ``error`` value (string, empty string or number) onto the hierarchy."""
    code = "" if error is None else str(error)
    text = "" if description is None else str(description)
    cls = _BY_CODE.get(code)
    if cls is None and code.upper() in _BY_CODE:
        cls = _BY_CODE[code.upper()]
    if cls is None:
        lowered = text.lower()
        for needle, candidate in _BY_DESCRIPTION:
            if needle in lowered:
                cls = candidate
                break
    if cls is None:
        if status is not None and status >= 500:
            cls = ServerError
        elif status == 401:
            cls = AuthFailed
        elif status == 403:
            cls = AccessDenied
        else:
            cls = RestError
    return cls(text or code or "unknown error", code=code or "EMPTY_ERROR_CODE", status=status, method=method)
