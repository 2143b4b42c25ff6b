"""Validation of every REST call against the published method specs (``../shared/bitrix24-spec/methods``).

Checked: the method exists; every top-level parameter marked ``required: true`` is present; values have the
declared base type; inside objects described by the spec (``ref`` → ``defs``), required fields are present
and known fields have their type. Unknown fields inside objects are accepted: the specs are parsed from the
docs and list incomplete field sets (``crm.item.update`` documents ``closedate`` elsewhere), and a real portal
drops unknown fields silently. Names are matched case-insensitively, as Bitrix24 upper-cases many of them.

A few documented methods have no spec file (``batch``, ``bizproc.robot.list``, ``placement.bind``,
``event.get``...): ``EXTRA`` describes them from their documentation pages.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

EXTRA: dict[str, dict[str, Any]] = {
    "batch": {"params": [{"name": "halt", "base": "integer", "required": False},
                         {"name": "cmd", "base": "object", "required": True}]},
    "bizproc.robot.list": {"params": []},
    "event.get": {"params": []},
    "placement.bind": {"params": [{"name": "PLACEMENT", "base": "string", "required": True},
                                  {"name": "HANDLER", "base": "string", "required": True},
                                  {"name": "TITLE", "base": "string", "required": False},
                                  {"name": "LANG_ALL", "base": "object", "required": False}]},
    "crm.item.productrow.fields": {"params": []},
    "app.info": {"params": []},
    "user.current": {"params": []},  # api-reference/user/user-current.md (no spec file)
    "profile": {"params": []},
}


def spec_dir() -> Path:
    env = os.environ.get("B24GOODS_SPEC_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "shared" / "bitrix24-spec" / "methods", here / "shared" / "bitrix24-spec" / "methods"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("bitrix24-spec/methods not found: set B24GOODS_SPEC_DIR")


@cache
def load(method: str) -> dict[str, Any] | None:
    if method in EXTRA:
        return EXTRA[method]
    path = spec_dir() / f"{method}.json"
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as fh:
        spec: dict[str, Any] = json.load(fh)
    return spec


def _is_type(value: Any, base: str) -> bool:
    if value is None:
        return True
    if base in ("integer",):
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        return isinstance(value, str) and value.strip().lstrip("-").isdigit()
    if base == "number":
        if isinstance(value, bool):
            return False
        if isinstance(value, (int, float)):
            return True
        try:
            float(str(value))
            return True
        except ValueError:
            return False
    if base == "boolean":
        return isinstance(value, bool) or str(value).upper() in {"Y", "N", "1", "0", "TRUE", "FALSE"}
    if base == "object":
        return isinstance(value, dict) or value == []
    if base == "array":
        return isinstance(value, (list, dict))
    if base in ("string", "char", "date", "datetime"):
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    return True


def _localized(param: dict[str, Any], value: Any) -> bool:
    """A string parameter documented as "a string or an array of localized strings" (robot NAME...)."""
    return (param.get("base") == "string" and "локализ" in str(param.get("description", "")).lower()
            and isinstance(value, dict) and all(isinstance(v, str) for v in value.values()))


def _lookup(data: dict[str, Any], name: str) -> tuple[bool, Any]:
    if name in data:
        return True, data[name]
    lowered = name.lower()
    for key, value in data.items():
        if key.lower() == lowered:
            return True, value
    return False, None


def validate(method: str, params: dict[str, Any]) -> tuple[str, str] | None:
    """``None`` when the call is acceptable, else ``(error_code, description)``."""
    spec = load(method)
    if spec is None:
        return "ERROR_METHOD_NOT_FOUND", "Method not found!"
    defs = spec.get("defs") or {}
    for param in spec.get("params", []):
        name, base = param["name"], param.get("base", "any")
        present, value = _lookup(params, name)
        if not present or value in ("", None):
            if param.get("required") is True:
                return "INVALID_ARG_VALUE", f"Required parameter '{name}' is missing"
            continue
        if not _is_type(value, base) and not _localized(param, value):
            return "INVALID_ARG_VALUE", f"Parameter '{name}' must be of type {base}"
        ref = param.get("ref")
        if ref and isinstance(value, (dict, list)):
            problem = _validate_nested(name, value, defs.get(ref.rsplit("/", 1)[-1]) or {})
            if problem:
                return problem
    return None


def _validate_nested(name: str, value: Any, definition: dict[str, Any]) -> tuple[str, str] | None:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, dict):
            return "INVALID_ARG_VALUE", f"Parameter '{name}' must contain objects"
        for field in definition.get("fields", []):
            fname = field["name"]
            if "..." in fname or fname == "propertyN":
                continue
            present, fvalue = _lookup(item, fname)
            if not present:
                if field.get("required") is True:
                    return "INVALID_ARG_VALUE", f"Required field '{name}.{fname}' is missing"
                continue
            if not _is_type(fvalue, field.get("base", "any")) and not _localized(field, fvalue):
                return "INVALID_ARG_VALUE", f"Field '{name}.{fname}' must be of type {field.get('base')}"
    return None


def known(method: str) -> bool:
    return load(method) is not None
