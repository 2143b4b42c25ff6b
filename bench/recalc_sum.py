"""REST calls per ``recalc_sum`` on deals of 5, 50 and 500 rows, and the function's own time per call.

Naive approach (what a straightforward robot does): ``crm.item.get``, one ``crm.item.productrow.list`` per
page of 50, one ``catalog.product.get`` per row, ``crm.item.update``, ``bizproc.event.send``.
"""

from __future__ import annotations

import math
import time
from typing import Any

from .common import stack, table, write


def naive_calls(rows: int) -> int:
    return 1 + max(1, math.ceil(rows / 50)) + rows + 1 + 1


def run() -> dict[str, Any]:
    results = []
    with stack() as s:
        products = sorted(p for p, v in s.portal.products.items())
        for size in (5, 50, 500):
            deal = s.sandbox.add_deal(title=f"bench {size}")
            for i in range(size):
                # every row its own catalog product: the worst case for the cost lookup
                pid = s.sandbox.portal.next_id()
                s.portal.products[pid] = {**s.portal.products[products[0]], "id": pid, "purchasingPrice": 10 + i}
                s.sandbox.add_row(2, deal, productId=pid, price=100 + i, quantity=1 + i % 3, taxRate=20)
            for phase in ("cold", "warm"):
                s.sandbox.add_row(2, deal, productName=f"extra {phase}", price=1, quantity=1)  # sum changes
                before = s.portal.http_calls
                start = time.perf_counter()
                wf = s.robot(2, deal, "b24goods_recalc_sum")
                wall = time.perf_counter() - start
                assert wf.return_values and wf.return_values["error"] == "", wf
                calls = s.portal.http_calls - before
                results.append({"rows": size + (1 if phase == "cold" else 2), "phase": phase, "rest_calls": calls,
                                "naive_calls": naive_calls(size), "ratio": round(naive_calls(size) / calls, 1),
                                "wall_ms": round(wall * 1000, 1)})
    return {"results": results}


def main() -> None:
    data = run()
    write("recalc_sum", data)
    print("recalc_sum: REST calls per call (cold = first time, costs read from the catalog; warm = snapshots)")
    print(table(["rows", "phase", "REST calls", "naive calls", "naive / ours", "wall ms (robot call → answer)"],
                [[r["rows"], r["phase"], r["rest_calls"], r["naive_calls"], r["ratio"], r["wall_ms"]]
                 for r in data["results"]]))


if __name__ == "__main__":
    main()
