"""One contract, two adapters: SQLite (embedded) and Firestore (the official emulator, started by the tests)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from b24goods.store import open_store
from b24goods.store.base import now_utc
from b24goods.store.models import HistoryEntry, Installation, Job
from b24goods.store.portal import PortalStore


@pytest.fixture
def db(store_url: str) -> Any:
    store = open_store(store_url)
    yield store
    store.close()


def test_get_put_delete(db: Any) -> None:
    assert db.get("m1", "c", "k") is None
    db.put("m1", "c", "k", {"a": 1, "nested": {"b": [1, 2]}})
    assert db.get("m1", "c", "k") == {"a": 1, "nested": {"b": [1, 2]}}
    db.delete("m1", "c", "k")
    assert db.get("m1", "c", "k") is None


def test_create_only_once(db: Any) -> None:
    assert db.create("m1", "idem", "t1", {"x": 1}) is True
    assert db.create("m1", "idem", "t1", {"x": 2}) is False
    assert db.get("m1", "idem", "t1") == {"x": 1}


def test_expired_documents_are_absent_and_can_be_recreated(db: Any) -> None:
    assert db.create("m1", "idem", "old", {"x": 1}, expires_at=now_utc() - timedelta(seconds=1))
    assert db.get("m1", "idem", "old") is None
    assert db.create("m1", "idem", "old", {"x": 2}) is True
    assert db.get("m1", "idem", "old")["x"] == 2


def test_transact_returns_the_stored_document(db: Any) -> None:
    assert db.transact("m1", "c", "n", lambda d: {"n": (d or {}).get("n", 0) + 1}) == {"n": 1}
    assert db.transact("m1", "c", "n", lambda d: None) == {"n": 1}  # None leaves it unchanged
    assert db.get("m1", "c", "n") == {"n": 1}


def test_concurrent_transactions_lose_no_update(db: Any) -> None:
    workers, per_worker = 3, 3

    def bump() -> None:
        for _ in range(per_worker):
            db.transact("m1", "c", "counter", lambda d: {"n": (d or {}).get("n", 0) + 1})

    threads = [threading.Thread(target=bump) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert db.get("m1", "c", "counter") == {"n": workers * per_worker}


def test_list_ordered_paged_and_descending(db: Any) -> None:
    for key in ["b", "a", "d", "c"]:
        db.put("m1", "orders/1/history", key, {"k": key})
    assert [k for k, _ in db.list("m1", "orders/1/history")] == ["a", "b", "c", "d"]
    assert [k for k, _ in db.list("m1", "orders/1/history", limit=2, descending=True)] == ["d", "c"]
    assert [k for k, _ in db.list("m1", "orders/1/history", limit=2, start_after="c", descending=True)] == ["b", "a"]
    assert [k for k, _ in db.list("m1", "orders/1/history", start_after="b")] == ["c", "d"]


def test_namespaces_are_isolated(db: Any) -> None:
    db.put("portal-a", "orders", "1", {"owner": "a"})
    assert db.get("portal-b", "orders", "1") is None
    assert db.list("portal-b", "orders") == []


def test_portal_store_typed_records(db: Any) -> None:
    portal = PortalStore(db, "member-1")
    portal.save_installation(Installation(member_id="member-1", client_endpoint="https://x/rest/",
                                          application_token="app", access_token="a", refresh_token="r"))
    portal.update_tokens("a2", "r2", 123)
    inst = portal.installation()
    assert inst is not None and (inst.access_token, inst.refresh_token, inst.expires) == ("a2", "r2", 123)
    portal.forget_tokens()
    inst = portal.installation()
    assert inst is not None and inst.access_token is None and not inst.active
    assert portal.claim_once("robot", "token-1") is True
    assert portal.claim_once("robot", "token-1") is False
    assert portal.update_settings(csv_price_includes_vat=True).csv_price_includes_vat is True
    assert portal.settings().csv_price_includes_vat is True


def test_jobs_and_leases(db: Any) -> None:
    portal = PortalStore(db, "member-1")
    assert portal.create_job(Job(id="j1", member_id="member-1", kind="k", call={}))
    assert not portal.create_job(Job(id="j1", member_id="member-1", kind="k", call={}))

    def step(job: Job) -> Job:
        job.progress["chunks"] = job.progress.get("chunks", 0) + 1
        return job

    portal.update_job("j1", step)
    job = portal.job("j1")
    assert job is not None and job.progress == {"chunks": 1}
    assert portal.acquire_lease("refresh", "w1", 30)
    assert not portal.acquire_lease("refresh", "w2", 30)
    portal.release_lease("refresh", "w1")
    assert portal.acquire_lease("refresh", "w2", 30)


def test_history_newest_first(db: Any) -> None:
    portal = PortalStore(db, "member-1")
    for i in range(5):
        portal.add_history(7, HistoryEntry(at=f"2026-01-0{i + 1}", action="recalc", source="t", summary=str(i)))
    page1 = portal.history(7, limit=3)
    assert [e.summary for _, e in page1] == ["4", "3", "2"]
    page2 = portal.history(7, limit=3, before=page1[-1][0])
    assert [e.summary for _, e in page2] == ["1", "0"]


def test_order_versions_grow(db: Any) -> None:
    portal = PortalStore(db, "member-1")
    assert portal.update_order(5, lambda o: {**o, "locked": True})["version"] == 1
    assert portal.update_order(5, lambda o: {**o, "x": 1})["version"] == 2
    assert portal.update_order(5, lambda o: None).get("version") == 2


def test_drop_namespace_takes_nested_collections_and_nothing_else(db: Any) -> None:
    for ns in ("m1", "m2"):
        db.put(ns, "portal", "installation", {"a": 1})
        db.put(ns, "orders/2:15/history", "k1", {"summary": "x"})
        db.put(ns, "jobs/j1/chunks", "000001", {"ops": []})
    assert db.drop_namespace("m1") == 3
    assert db.get("m1", "portal", "installation") is None
    assert db.list("m1", "orders/2:15/history") == [] and db.list("m1", "jobs/j1/chunks") == []
    assert db.get("m2", "portal", "installation") == {"a": 1}
    assert [k for k, _ in db.list("m2", "orders/2:15/history")] == ["k1"]
    assert db.drop_namespace("m1") == 0


def test_money_is_stored_exactly(db: Any) -> None:
    """``Decimal`` amounts come back as their exact text, through put and through transact, on both adapters."""
    from decimal import Decimal

    db.put("m", "c", "k", {"price": Decimal("12345678.12345678"), "rows": [{"sum": Decimal("0.10")}]})
    assert db.get("m", "c", "k") == {"price": "12345678.12345678", "rows": [{"sum": "0.10"}]}
    after = db.transact("m", "c", "k", lambda doc: {**(doc or {}), "tax": Decimal("1E+2")})
    assert after == {"price": "12345678.12345678", "rows": [{"sum": "0.10"}], "tax": "100"}
    assert db.get("m", "c", "k") == after
