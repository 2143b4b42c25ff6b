"""A 2,000-row import against the sandbox with the Bitrix24 rate limit on (50 burst, 2/s).

- REST calls used vs the minimum possible: the row writes in batches of 50 (40), one catalog lookup, the
  reads that cannot be avoided (the file field, the document's rows, the rows again for the sum) and the
  writes of the sum and the answer.
- vs a naive row-by-row import: per row one catalog search and one ``crm.item.productrow.add``.
- wall time vs the floor the rate limit imposes on a portal already at its limit (bucket full): calls / 2 per
  second.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from .common import stack, table, write

ROWS = 2000


def big_file(rows: int) -> bytes:
    lines = ["Артикул;Наименование;Ед.;Кол-во;Цена;Скидка, %;НДС, %;Себестоимость"]
    lines += [f"ART-{i:05d};Позиция {i:05d};шт;{i % 5 + 1};{1000 + i},50;{i % 15};20;{500 + i}" for i in range(rows)]
    return ("\r\n".join(lines) + "\r\n").encode("cp1251")


def run() -> dict[str, Any]:
    with stack() as s:
        deal = s.sandbox.add_deal(UF_CRM_FILE=["big.csv", base64.b64encode(big_file(ROWS)).decode()])
        s.portal.enable_rate_limit(burst=50, rate=2.0)
        s.portal.rate_limit.level = 50.0  # a portal already at its limit: every call waits for the bucket to drain
        s.portal.http_calls = 0
        s.portal.calls.clear()
        start = time.perf_counter()
        wf = s.robot(2, deal, "b24goods_import_csv", {"file_field": "UF_CRM_FILE"}, timeout=600)
        wall = time.perf_counter() - start
        assert wf.return_values["error"] == "" and len(s.sandbox.rows(2, deal)) == ROWS, wf.return_values
        rejected = s.portal.rate_limit.rejected
        admitted = s.portal.http_calls - rejected
        by_method = {m: s.portal.calls.count(m) for m in sorted(set(s.portal.calls))}
    minimum = ROWS // 50 + 1 + 3 + 2
    naive = 2 * ROWS + 3 + 2
    floor = admitted / 2.0
    return {"rows": ROWS, "rest_calls": admitted, "rejected_503": rejected, "minimum_calls": minimum,
            "over_minimum_percent": round(100 * (admitted - minimum) / minimum, 1), "naive_calls": naive,
            "naive_ratio": round(naive / admitted, 1), "wall_s": round(wall, 1), "rate_floor_s": round(floor, 1),
            "wall_vs_floor": round(wall / floor, 2) if floor else None, "methods": by_method}


def main() -> None:
    data = run()
    write("import_csv", data)
    print(f"import_csv: {ROWS} rows, rate limit 50 burst / 2 per second")
    print(table(["REST calls", "minimum", "over minimum", "naive row-by-row", "naive / ours", "503 retries",
                 "wall s", "rate-limit floor s", "wall / floor"],
                [[data["rest_calls"], data["minimum_calls"], f"{data['over_minimum_percent']} %", data["naive_calls"],
                  data["naive_ratio"], data["rejected_503"], data["wall_s"], data["rate_floor_s"], data["wall_vs_floor"]]]))


if __name__ == "__main__":
    main()
