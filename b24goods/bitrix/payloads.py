"""What Bitrix24 POSTs to us, as typed models.

Robot calls, events, install callbacks and placement calls arrive form-encoded with PHP-style keys (the
queue servers send ``application/x-www-form-urlencoded``; see ``bitrix24-rest.md`` §2.1); the docs' Python
snippet reads JSON, so JSON is tolerated too. :func:`request_data` is the one place a request body becomes a
dict; the models below validate it.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ..errors import PayloadError
from .phpform import parse_pairs

DEAL_TYPE_ID = 2
LEAD_TYPE_ID = 1
_SIMPLE_TYPES = {"LEAD": 1, "DEAL": 2, "CONTACT": 3, "COMPANY": 4, "QUOTE": 7, "SMART_INVOICE": 31}
_ABBR = {1: "L", 2: "D", 3: "C", 4: "CO", 5: "I", 7: "Q", 14: "O", 31: "SI"}
_NAMES = {1: "lead", 2: "deal", 3: "contact", 4: "company", 7: "quote"}


def _int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(str(value).strip())
    except ValueError as exc:
        raise ValueError(f"not an integer: {value!r}") from exc


OptInt = Annotated[int | None, BeforeValidator(_int_or_none)]


def _positive(value: Any) -> int | None:
    """An id as events send it (a string of digits); anything else is no id."""
    text = str(value if value is not None else "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def owner_type_of(entity_type_id: int) -> str:
    """Short code used by product rows and CRM bindings: deal ``D``, smart process ``T`` + hex (128 → ``T80``)."""
    if entity_type_id in _ABBR:
        return _ABBR[entity_type_id]
    return "T" + format(entity_type_id, "x")


def timeline_entity_name(entity_type_id: int) -> str:
    return _NAMES.get(entity_type_id, f"dynamic_{entity_type_id}")


class DocumentRef(BaseModel):
    """A CRM document: ``DEAL_123`` or ``DYNAMIC_1038_15`` (``document_id[2]`` of a robot call)."""

    model_config = ConfigDict(frozen=True)

    entity_type_id: int
    id: int

    @property
    def owner_type(self) -> str:
        return owner_type_of(self.entity_type_id)

    @property
    def is_deal(self) -> bool:
        return self.entity_type_id == DEAL_TYPE_ID

    @property
    def binding(self) -> str:
        """``D_12`` / ``T80_6``: the value of task ``UF_CRM_TASK``."""
        return f"{self.owner_type}_{self.id}"

    @property
    def key(self) -> str:
        return f"{self.entity_type_id}:{self.id}"

    @classmethod
    def parse(cls, raw: str) -> DocumentRef:
        text = (raw or "").strip()
        dynamic = re.fullmatch(r"DYNAMIC_(\d+)_(\d+)", text)
        if dynamic:
            return cls(entity_type_id=int(dynamic.group(1)), id=int(dynamic.group(2)))
        simple = re.fullmatch(r"([A-Z_]+?)_(\d+)", text)
        if simple and simple.group(1) in _SIMPLE_TYPES:
            return cls(entity_type_id=_SIMPLE_TYPES[simple.group(1)], id=int(simple.group(2)))
        raise PayloadError(f"document_id[2] = {raw!r} is not a CRM document (expected DEAL_<id> or "
                           f"DYNAMIC_<entityTypeId>_<id>)", code="BAD_DOCUMENT_ID")

    def document_id(self) -> list[str]:
        if self.entity_type_id == DEAL_TYPE_ID:
            return ["crm", "CCrmDocumentDeal", f"DEAL_{self.id}"]
        return ["crm", "Bitrix\\Crm\\Integration\\BizProc\\Document\\Dynamic",
                f"DYNAMIC_{self.entity_type_id}_{self.id}"]


class AuthBlock(BaseModel):
    """``auth[...]`` of a robot call or an event. Tokens never appear in ``repr`` (so never in logs)."""

    model_config = ConfigDict(extra="ignore")

    member_id: str = Field(min_length=1)
    application_token: str | None = Field(default=None, repr=False)
    access_token: str | None = Field(default=None, repr=False)
    refresh_token: str | None = Field(default=None, repr=False)
    expires: OptInt = None
    expires_in: OptInt = None
    scope: str | None = None
    domain: str | None = None
    server_endpoint: str | None = None
    client_endpoint: str | None = None
    status: str | None = None
    user_id: OptInt = None


class RobotCall(BaseModel):
    """A robot/activity call (``CBPRestActivity::execute``): see ``bitrix24-rest.md`` §2.2."""

    model_config = ConfigDict(extra="ignore")

    workflow_id: str = Field(min_length=1)
    code: str = Field(min_length=1)
    document_id: list[str] = Field(min_length=3, max_length=3)
    document_type: list[str] = Field(default_factory=list)
    event_token: str = Field(min_length=1, repr=False)
    properties: dict[str, Any] = Field(default_factory=dict)
    use_subscription: str = "Y"
    timeout_duration: OptInt = None
    ts: OptInt = None
    auth: AuthBlock

    @property
    def document(self) -> DocumentRef:
        return DocumentRef.parse(self.document_id[2])


class EventCall(BaseModel):
    """An event (``ONCRMDEALUPDATE``, ``ONAPPINSTALL``...): ``event``, ``data``, ``auth``."""

    model_config = ConfigDict(extra="ignore")

    event: str = Field(min_length=1)
    event_handler_id: OptInt = None
    data: dict[str, Any] | list[Any] = Field(default_factory=dict)
    ts: OptInt = None
    auth: AuthBlock

    @property
    def fields(self) -> dict[str, Any]:
        data = self.data if isinstance(self.data, dict) else {}
        fields = data.get("FIELDS") or {}
        return fields if isinstance(fields, dict) else {}

    @property
    def name(self) -> str:
        """The event's name without a per-type suffix: ``ONCRMDYNAMICITEMUPDATE_1038`` → ``ONCRMDYNAMICITEMUPDATE``."""
        return re.sub(r"^(ONCRMDYNAMICITEM[A-Z]+)_\d+$", r"\1", self.event.upper())

    @property
    def document(self) -> DocumentRef | None:
        """The changed CRM document: ``FIELDS.ID`` plus ``ENTITY_TYPE_ID`` (smart processes), else the type
        named by a per-type event (``..._1038``); a deal for deal events. ``None`` when it cannot be told."""
        fields = self.fields
        raw_id = _positive(fields.get("ID"))
        if raw_id is None:
            return None
        etid = _positive(fields.get("ENTITY_TYPE_ID"))
        if etid is None:
            suffix = re.fullmatch(r"ONCRMDYNAMICITEM[A-Z]+_(\d+)", self.event.upper())
            if suffix:
                etid = int(suffix.group(1))
            elif self.name.startswith("ONCRMDEAL"):
                etid = DEAL_TYPE_ID
            else:
                return None
        return DocumentRef(entity_type_id=etid, id=raw_id)


class PlacementCall(BaseModel):
    """A placement (card tab) call: viewing user's token in ``AUTH_ID``, origin in ``APPLICATION_TOKEN``."""

    model_config = ConfigDict(extra="ignore")

    member_id: str = Field(min_length=1)
    PLACEMENT: str = Field(min_length=1)
    PLACEMENT_OPTIONS: str = "{}"
    AUTH_ID: str | None = Field(default=None, repr=False)
    APPLICATION_TOKEN: str | None = Field(default=None, repr=False)
    DOMAIN: str | None = None

    @property
    def options(self) -> dict[str, Any]:
        try:
            value = json.loads(self.PLACEMENT_OPTIONS or "{}")
        except json.JSONDecodeError as exc:
            raise PayloadError("PLACEMENT_OPTIONS is not JSON") from exc
        return value if isinstance(value, dict) else {}


def request_data(form_pairs: list[tuple[str, str]], json_body: Any = None,
                 query_pairs: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """Merge query, form (PHP keys) and JSON into one dict; form wins over query, JSON over both."""
    data = parse_pairs(list(query_pairs or []) + list(form_pairs))
    if isinstance(json_body, dict):
        data.update(json_body)
    return data


def parse_model(model: type[BaseModel], data: dict[str, Any], what: str) -> Any:
    """Validate ``data`` or raise a :class:`PayloadError` naming the first bad field (no values echoed)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}" for err in exc.errors()[:5])
        raise PayloadError(f"malformed {what}: {problems}") from None


def is_robot_call(data: dict[str, Any]) -> bool:
    return "workflow_id" in data and "event" not in data
