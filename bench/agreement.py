"""REST calls per agreement application on deals of 5, 50 and 500 rows.

Target: a constant, independent of the number of rows in the deal apart from reading them. Reading a deal
costs one batch for the first page plus one batch for all other pages (≤ 2,500 rows), so the whole
application should cost the same number of calls at every size.
"""

from __future__ import annotations

import base64
from typing import Any

from .common import stack, table, write


def run() -> dict[str, Any]:
    results = []
    with stack() as s:
        from b24goods.context import store
        from b24goods.store.portal import PortalStore

        settings = PortalStore(store(), s.portal.member_id).settings()
        kind = settings.agreement_entity_type_id
        for size in (5, 50, 500):
            deal = s.sandbox.add_deal(title=f"bench {size}", assignedById=2)
            for i in range(size):
                s.sandbox.add_row(2, deal, productName=f"Позиция {i}", price=100 + i, quantity=1)
            assert s.robot(2, deal, "b24goods_lock_rows", {"action": "lock"}).return_values["error"] == ""
            agreement = s.sandbox.add_item(kind, parentId2=deal, UF_CRM_SCAN=["scan.pdf", base64.b64encode(b"%PDF").decode()])
            for i in range(3):
                s.sandbox.add_row(kind, agreement, productName=f"Изменение {i}", price=1000, quantity=1)
            s.portal.flush()
            # The echoes of the robot's own writes are held back while it runs: they are sync's cost (see
            # bench/sync.py), and delivered concurrently they would make this count vary by a call or two.
            s.portal.event_filter = lambda name, payload: []
            before = s.portal.http_calls
            wf = s.robot(kind, agreement, "b24goods_apply_agreement", {"agreement_date": "2026-08-21",
                                                                       "new_closedate": "2026-09-30"})
            assert wf.return_values["error"] == "", wf.return_values
            calls = s.portal.http_calls - before
            s.portal.event_filter = None
            s.portal.flush()
            results.append({"deal_rows": size, "rest_calls": calls})
    return {"results": results}


def main() -> None:
    data = run()
    write("agreement", data)
    print("apply_agreement: REST calls per application (incl. reading the deal, dates, sum, timeline, notify, answer)")
    print(table(["deal rows", "REST calls"], [[r["deal_rows"], r["rest_calls"]] for r in data["results"]]))


if __name__ == "__main__":
    main()
