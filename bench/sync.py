"""Cost of one synced change between a deal and its item, of the echo it causes, and of a duplicate event.

For orders of 5, 50 and 200 rows: a user edits one row of the item; the portal sends
``ONCRMDYNAMICITEMUPDATE``; the app reads both sides and writes the one changed row to the deal. Our write comes
back as ``ONCRMDEALUPDATE`` (the echo), which must cost reads only: no REST write, no store write. A
duplicated event costs the same as an echo.

Naive approach: on every event, read both sides and rewrite the other side with ``crm.item.productrow.set``
(every row, new row ids), which also re-triggers an event on the other side forever unless stopped.
Counted: REST calls (HTTP requests to the portal), REST writes (row add/update/delete/set commands), store
reads/writes/transactions, and wall time from the user's edit to the change being visible on the deal.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from .common import stack, table, write

ROW_WRITES = ("crm.item.productrow.add", "crm.item.productrow.update", "crm.item.productrow.delete",
              "crm.item.productrow.set")


def _counters(s: Any) -> dict[str, int]:
    from b24goods.context import store

    stats = store().stats.snapshot()
    return {"http": s.portal.http_calls, "rest_writes": sum(1 for c in s.portal.calls if c in ROW_WRITES),
            "store_reads": stats["reads"], "store_writes": stats["writes"], "store_txns": stats["transactions"]}


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in after}


def _linked_order(s: Any, size: int) -> tuple[int, int, int]:
    from b24goods.context import store
    from b24goods.store.portal import PortalStore

    item_type = PortalStore(store(), s.portal.member_id).settings().item_entity_type_id
    deal = s.sandbox.add_deal(title=f"bench sync {size}", assignedById=2)
    for i in range(size):
        s.sandbox.add_row(2, deal, productName=f"Позиция {i}", price=100 + i, quantity=1)
    item = s.sandbox.add_item(item_type, parentId2=deal, title="Изделие", assignedById=4)
    wf = s.robot(2, deal, "b24goods_sync_rows")
    assert wf.return_values["error"] == "" and wf.return_values["rows_changed"] == size, wf.return_values
    s.portal.flush()
    assert item_type is not None, "install sets up the item smart process"
    return deal, item_type, item


def _edited(s: Any, deal: int, name: str) -> bool:
    return any(r["productName"] == name and r["quantity"] == 7.0 for r in s.sandbox.rows(2, deal))


def _wait(check: Any, timeout: float = 30.0) -> float:
    start = time.perf_counter()
    while not check():
        if time.perf_counter() - start > timeout:
            raise AssertionError("the change did not reach the other side")
        time.sleep(0.002)
    return time.perf_counter() - start


def run() -> dict[str, Any]:
    results = []
    with stack() as s:
        for size in (5, 50, 200):
            deal, item_type, item = _linked_order(s, size)
            target = s.sandbox.rows(item_type, item)[size // 2]
            held: list[dict[str, Any]] = []
            # the change itself: the item's event is delivered; the deal's echo is held to be measured apart
            def hold_deal_echo(name: str, payload: dict[str, Any], held: list[dict[str, Any]] = held
                               ) -> list[dict[str, Any]]:
                if name == "ONCRMDEALUPDATE":
                    held.append(payload)
                    return []
                return [payload]
            s.portal.event_filter = hold_deal_echo
            before = _counters(s)
            s.sandbox.edit_row(target["id"], user_id=4, quantity=7)
            latency = _wait(functools.partial(_edited, s, deal, target["productName"]))
            s.portal.flush()
            change = _delta(_counters(s), before)
            s.portal.event_filter = None
            echo_cost = _deliver(s, held[:1])
            duplicate_cost = _deliver(s, held[:1])
            results.append({"rows": size, "change": change, "echo": echo_cost, "duplicate": duplicate_cost,
                            "latency_ms": round(latency * 1000, 1),
                            "naive_writes_per_change": size, "naive_writes_per_echo": size})
    return {"results": results}


def _deliver(s: Any, payloads: list[dict[str, Any]]) -> dict[str, int]:
    before = _counters(s)
    for payload in payloads:
        s.portal.post_async(s.fn("events"), payload, lambda status: None)
    s.portal.flush()
    return _delta(_counters(s), before)


def main() -> None:
    data = run()
    write("sync", data)
    print("sync: one row edited in the item → the deal (REST = HTTP calls to the portal; writes = row commands)")
    rows = []
    for r in data["results"]:
        c, e, d = r["change"], r["echo"], r["duplicate"]
        rows.append([r["rows"], c["http"], c["rest_writes"], f"{c['store_reads']} / {c['store_writes']} / {c['store_txns']}",
                     f"{e['http']} / {e['rest_writes']}", f"{e['store_reads']} / {e['store_writes']} / {e['store_txns']}",
                     f"{d['http']} / {d['rest_writes']}", r["naive_writes_per_change"], r["latency_ms"]])
    print(table(["rows", "REST calls", "REST row writes", "store r / w / txn", "echo REST calls / writes",
                 "echo store r / w / txn", "duplicate REST calls / writes", "naive row writes", "edit → deal ms"], rows))


if __name__ == "__main__":
    main()
