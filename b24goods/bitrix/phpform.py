"""PHP-style form keys, both ways, in one place.

Bitrix24 sends robot calls, events and install callbacks as ``application/x-www-form-urlencoded`` bodies
with bracketed keys (``auth[member_id]=...``, ``properties[users][0]=user_1``), and ``batch`` sub-commands are
PHP ``http_build_query`` strings. :func:`parse_pairs` turns pairs into nested dicts/lists;
:func:`build_query` does the reverse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def _split_key(key: str) -> list[str]:
    match = _KEY.match(key)
    if not match:
        return [key]
    head, rest = match.groups()
    return [head, *re.findall(r"\[([^\[\]]*)\]", rest)]


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {k: _listify(v) for k, v in node.items()}
        keys = list(converted)
        if keys and all(k.isdigit() for k in keys) and sorted(int(k) for k in keys) == list(range(len(keys))):
            return [converted[str(i)] for i in range(len(keys))]
        return converted
    return node


def parse_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``[("a[b][0]", "x"), ("a[b][1]", "y")]`` → ``{"a": {"b": ["x", "y"]}}``.

    Empty brackets (``a[]=1&a[]=2``) append. Objects whose keys are exactly 0..n-1 become lists, as PHP
    arrays serialised by ``json_encode`` would.
    """
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = _split_key(key)
        node: dict[str, Any] = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part == "":
                part = str(sum(1 for k in node if k.isdigit()))
            if last:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = {}
                    node[part] = child
                node = child
    return _listify(root)


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        if not value:
            return
        for k, v in value.items():
            _flatten(f"{prefix}[{k}]" if prefix else str(k), v, out)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _flatten(f"{prefix}[{i}]", v, out)
    elif value is None:
        out.append((prefix, ""))
    elif isinstance(value, bool):
        out.append((prefix, "1" if value else "0"))
    elif isinstance(value, Decimal):
        out.append((prefix, format(value, "f")))  # exact, never an exponent (1E+2)
    else:
        out.append((prefix, str(value)))


def flatten(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Nested data → ``[("a[b][0]", "x"), ...]`` (empty arrays vanish, exactly as under PHP)."""
    out: list[tuple[str, str]] = []
    _flatten("", data, out)
    return out


def build_query(data: Mapping[str, Any]) -> str:
    """PHP ``http_build_query``: used for ``batch`` sub-commands."""
    return "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in flatten(data))
