"""Robot property values as Bitrix24 sends them (form-encoded, PHP keys) into Python values."""

from __future__ import annotations

from datetime import date

import pytest

from activities import props
from b24goods.bitrix.phpform import parse_pairs
from b24goods.errors import PropertyError


def form(*pairs: tuple[str, str]) -> dict:  # type: ignore[type-arg]
    return parse_pairs(list(pairs)).get("properties") or {}


def test_users_from_a_list_a_sparse_index_a_plain_value_and_groups() -> None:
    assert props.users(form(("properties[u][0]", "user_1"), ("properties[u][1]", "user_12")), "u") == ([1, 12], [])
    assert props.users(form(("properties[u][1]", "user_2"), ("properties[u][3]", "user_5")), "u") == ([2, 5], [])
    assert props.users(form(("properties[u]", "user_7; group_g1, 7")), "u") == ([7], ["group_g1"])
    assert props.users({}, "u") == ([], [])


def test_flags_dates_numbers_and_choices() -> None:
    values = form(("properties[f][0]", "Y"), ("properties[d]", "21.08.2026 14:00:00"), ("properties[n]", "3,5"),
                  ("properties[m]", "replace"), ("properties[i]", "2026-08-21T10:00:00+03:00"))
    assert props.flag(values, "f") is True and props.flag(values, "missing", default=True) is True
    assert props.a_date(values, "d") == date(2026, 8, 21) == props.a_date(values, "i")
    assert str(props.number(values, "n")) == "3.5" and props.integer(values, "n") == 3
    assert props.choice(values, "m", ("append", "replace"), "append") == "replace"


@pytest.mark.parametrize("call", [
    lambda v: props.flag(v, "x"), lambda v: props.a_date(v, "x"), lambda v: props.integer(v, "x"),
    lambda v: props.choice(v, "x", ("a", "b"), "a"),
])
def test_bad_values_name_the_property(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PropertyError, match="«x»"):
        call({"x": "maybe"})


@pytest.mark.parametrize("raw, expected", [
    ("21.08.2026", date(2026, 8, 21)), ("21.08.2026 14:00:00", date(2026, 8, 21)),
    ("08/21/2026", date(2026, 8, 21)), ("08/21/2026 2:00:00 pm", date(2026, 8, 21)),  # English culture
    ("21/08/2026", date(2026, 8, 21)), ("2026-08-21T14:00:00+03:00", date(2026, 8, 21)),
])
def test_dates_in_the_portals_own_format(raw: str, expected: date) -> None:
    assert props.a_date({"d": raw}, "d") == expected


@pytest.mark.parametrize("raw", ["31.02.2026", "13/13/2026", "21 августа"])
def test_impossible_dates_name_the_property(raw: str) -> None:
    with pytest.raises(PropertyError, match="«d»: не дата"):
        props.a_date({"d": raw}, "d")
