"""Matching people's names as written in a spreadsheet to portal users. Pure."""

from __future__ import annotations

import re
from typing import Any


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace("ё", "е")).strip(" .")


def name_variants(user: dict[str, Any]) -> set[str]:
    first, last = _norm(str(user.get("NAME") or "")), _norm(str(user.get("LAST_NAME") or ""))
    second = _norm(str(user.get("SECOND_NAME") or ""))
    out = {v for v in (last, f"{first} {last}", f"{last} {first}", f"{last} {first} {second}",
                       f"{first} {second} {last}") if v.strip()}
    if first and last:
        out |= {f"{last} {first[0]}", f"{first[0]} {last}"}
    return {re.sub(r"\s+", " ", v).strip() for v in out}


def match_user(name: str, users: list[dict[str, Any]]) -> tuple[int | None, list[int]]:
    """``(user_id, [])`` when exactly one active user matches; ``(None, candidates)`` otherwise."""
    wanted = _norm(name)
    if re.fullmatch(r"(?:user_)?\d+", wanted):
        uid = int(wanted.removeprefix("user_"))
        return (uid, []) if any(int(u["ID"]) == uid for u in users) else (None, [])
    hits = [int(u["ID"]) for u in users if u.get("ACTIVE", True) and wanted in name_variants(u)]
    return (hits[0], []) if len(hits) == 1 else (None, hits)
