"""PHP-style form keys and the typed payload models."""

from __future__ import annotations

import pytest

from b24goods.bitrix.payloads import DocumentRef, EventCall, RobotCall, owner_type_of, parse_model, request_data
from b24goods.bitrix.phpform import build_query, flatten, parse_pairs
from b24goods.errors import PayloadError


def robot_pairs(**override: str) -> list[tuple[str, str]]:
    pairs = {
        "workflow_id": "55c1dc1c3f0d75.78875596", "code": "b24goods_recalc_sum",
        "document_id[0]": "crm", "document_id[1]": "CCrmDocumentDeal", "document_id[2]": "DEAL_123",
        "document_type[0]": "crm", "document_type[1]": "CCrmDocumentDeal", "document_type[2]": "DEAL",
        "event_token": "55c1dc1c3f0d75.78875596|A51601_82584_96831_81132|hsyU", "properties[users][0]": "user_1",
        "properties[users][1]": "user_12", "properties[dry_run]": "Y", "use_subscription": "Y",
        "timeout_duration": "0", "ts": "1736405807", "auth[access_token]": "secret-access",
        "auth[member_id]": "a223", "auth[application_token]": "51856f", "auth[user_id]": "1",
        "auth[domain]": "x.bitrix24.com", "auth[expires]": "", **override}
    return list(pairs.items())


def test_parse_pairs_builds_lists_and_dicts() -> None:
    data = parse_pairs([("a[b][0]", "x"), ("a[b][1]", "y"), ("a[c]", "z"), ("l[]", "1"), ("l[]", "2")])
    assert data == {"a": {"b": ["x", "y"], "c": "z"}, "l": ["1", "2"]}


def test_sparse_numeric_keys_stay_a_dict() -> None:
    assert parse_pairs([("a[1]", "x"), ("a[3]", "y")]) == {"a": {"1": "x", "3": "y"}}


def test_flatten_round_trips() -> None:
    data = {"cmd": {"x": "crm.item.get?id=1"}, "fields": {"rows": [{"a": 1, "b": None}], "flag": True}, "e": []}
    assert parse_pairs(flatten(data)) == {"cmd": {"x": "crm.item.get?id=1"},
                                          "fields": {"rows": [{"a": "1", "b": ""}], "flag": "1"}}


def test_build_query_is_php_http_build_query() -> None:
    assert build_query({"filter": {"=ownerType": "D", "=ownerId": 5}, "start": 50}) == \
        "filter[%3DownerType]=D&filter[%3DownerId]=5&start=50"


def test_robot_call_from_form() -> None:
    call = parse_model(RobotCall, request_data(robot_pairs()), "robot call")
    assert call.document == DocumentRef(entity_type_id=2, id=123)
    assert call.properties["users"] == ["user_1", "user_12"]
    assert call.auth.member_id == "a223" and call.auth.expires is None
    assert "secret-access" not in repr(call) and "51856f" not in repr(call)


def test_robot_call_from_json_is_tolerated() -> None:
    data = request_data([], {"workflow_id": "w", "code": "c", "document_id": ["crm", "x", "DYNAMIC_1038_15"],
                             "event_token": "t", "auth": {"member_id": "m"}})
    call = parse_model(RobotCall, data, "robot call")
    assert call.document.entity_type_id == 1038 and call.document.id == 15
    assert call.document.owner_type == "T40e"


def test_malformed_robot_call_names_the_field() -> None:
    pairs = [p for p in robot_pairs() if p[0] != "auth[member_id]"]
    with pytest.raises(PayloadError, match=r"auth\.member_id"):
        parse_model(RobotCall, request_data(pairs), "robot call")


@pytest.mark.parametrize("raw, etid, item", [("DEAL_7", 2, 7), ("LEAD_5", 1, 5), ("DYNAMIC_128_6", 128, 6)])
def test_document_ids(raw: str, etid: int, item: int) -> None:
    ref = DocumentRef.parse(raw)
    assert (ref.entity_type_id, ref.id) == (etid, item)
    assert DocumentRef.parse(ref.document_id()[2]) == ref if etid != 1 else True


def test_bad_document_id() -> None:
    with pytest.raises(PayloadError):
        DocumentRef.parse("CONTACTX_1")


def test_owner_types() -> None:
    assert owner_type_of(2) == "D" and owner_type_of(128) == "T80" and owner_type_of(179) == "Tb3"
    assert DocumentRef(entity_type_id=128, id=6).binding == "T80_6"


def test_event_fields() -> None:
    data = request_data([("event", "ONCRMDEALUPDATE"), ("data[FIELDS][ID]", "759"), ("auth[member_id]", "m"),
                         ("auth[application_token]", "t"), ("ts", "1")])
    event = parse_model(EventCall, data, "event")
    assert event.fields == {"ID": "759"} and event.event == "ONCRMDEALUPDATE"


@pytest.mark.parametrize("event, fields, expected", [
    ("ONCRMDEALUPDATE", {"ID": "759"}, (2, 759)),
    ("ONCRMDYNAMICITEMUPDATE", {"ID": "24", "ENTITY_TYPE_ID": "1220"}, (1220, 24)),
    ("ONCRMDYNAMICITEMUPDATE_1038", {"ID": "5"}, (1038, 5)),
    ("ONCRMDYNAMICITEMUPDATE", {"ID": "24"}, None),  # a smart-process item of no known type is not a deal
    ("ONCRMDEALUPDATE", {"ID": ""}, None),
    ("ONCRMDEALUPDATE", {"ID": "abc"}, None),
])
def test_the_document_an_event_speaks_of(event: str, fields: dict[str, str], expected: object) -> None:
    call = EventCall.model_validate({"event": event, "data": {"FIELDS": fields}, "auth": {"member_id": "m"}})
    doc = call.document
    if expected:
        assert doc is not None and (doc.entity_type_id, doc.id) == expected
    else:
        assert doc is None
    assert call.name == event.split("_1038")[0]
