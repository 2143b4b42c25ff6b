"""Typed documents kept in the store (pydantic at the store boundary)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..domain.portal_time import DEFAULT_TIMEZONE


class Installation(BaseModel):
    """A portal's installation: endpoints, token pair and the application token that verifies its calls."""

    model_config = ConfigDict(extra="ignore")

    member_id: str
    domain: str | None = None
    client_endpoint: str
    server_endpoint: str | None = None
    application_token: str = Field(repr=False)
    access_token: str | None = Field(default=None, repr=False)
    refresh_token: str | None = Field(default=None, repr=False)
    expires: int | None = None
    user_id: int | None = None
    scope: str | None = None
    installed_at: str | None = None
    active: bool = True


class Settings(BaseModel):
    """Per-portal settings (DESIGN §3.1). Set by ``install`` or ``python -m b24goods settings``."""

    model_config = ConfigDict(extra="ignore")

    item_entity_type_id: int | None = None
    agreement_entity_type_id: int | None = None
    agreement_file_field: str | None = None
    csv_price_includes_vat: bool = False
    default_vat_rate: Decimal | None = None
    catalog_iblock_id: int | None = None
    article_property_id: int | None = None
    base_price_type_id: int | None = None
    currency: str = "RUB"
    timezone: str = DEFAULT_TIMEZONE  # IANA name: "today" for agreement dates and task deadlines
    deal_only_row_prefixes: list[str] = Field(default_factory=lambda: ["Доп. соглашение", "Доставка"])
    margin_viewers: list[int] = Field(default_factory=list)  # who sees cost and margin in the tab (user ids)
    margin_viewer_departments: list[int] = Field(default_factory=list)  # ... or whole departments


JobState = Literal["pending", "running", "done", "failed"]


class Job(BaseModel):
    """A durable unit of work: a robot call that runs (or resumes) in a worker.

    ``progress`` is the operation's own checkpoint (for instance which import chunks were written and the
    row ids they produced), so a worker that dies mid-way resumes without doing anything twice.
    """

    model_config = ConfigDict(extra="ignore")

    id: str
    member_id: str
    kind: str
    call: dict[str, Any]
    state: JobState = "pending"
    attempts: int = 0
    lease_until: float = 0.0
    progress: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: str | None = None
    error_code: str | None = None
    answered: bool = False
    created_at: str | None = None
    updated_at: str | None = None


class RowChange(BaseModel):
    row: str  # a human name of the row
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class HistoryEntry(BaseModel):
    """One change the application made or saw, on one order (deal)."""

    model_config = ConfigDict(extra="ignore")

    at: str
    action: str  # recalc, import, agreement, lock, unlock, revert, sync, conflict, task, notify
    source: str  # robot code, event name or "cli"
    user_id: int | None = None
    deal_id: int | None = None
    document: str | None = None  # "2:15" / "1038:7"
    summary: str
    reason: str | None = None
    changes: list[RowChange] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)
