"""A 2,000-row import under the Bitrix24 rate limit, and a worker killed in the middle of a large import."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tests.emulators import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
FIELD = "UF_CRM_ORDER_FILE"


def big_file(rows: int) -> bytes:
    lines = ["Артикул;Наименование;Ед.;Кол-во;Цена;Скидка, %;НДС, %;Себестоимость"]
    for i in range(rows):
        lines.append(f"ART-{i:05d};Позиция {i:05d};шт;{i % 5 + 1};{1000 + i},{i % 100:02d};{i % 15};20;{500 + i}")
    return ("\r\n".join(lines) + "\r\n").encode("cp1251")


def test_two_thousand_rows_under_the_rate_limit(app_sqlite: Any) -> None:
    sb = app_sqlite.sandbox
    deal = sb.add_deal(**{FIELD: ["big.csv", base64.b64encode(big_file(2000)).decode()]})
    sb.portal.enable_rate_limit(burst=50, rate=2.0)
    sb.portal.http_calls = 0
    wf = app_sqlite.run_robot(2, deal, "b24goods_import_csv", {"file_field": FIELD}, timeout=240)
    assert wf.return_values["error"] == "", wf.return_values
    rows = sb.rows(2, deal)
    assert len(rows) == 2000 and wf.return_values["rows_added"] == 2000
    assert len({r["productName"] for r in rows}) == 2000
    expected = sum(round_half_up((1000 + i + (i % 100) / 100) * (1 - (i % 15) / 100) * 1.2, 8) * (i % 5 + 1)
                   for i in range(2000))
    assert abs(float(wf.return_values["sum"]) - expected) < 0.01 * 2000
    # writes: 40 batches of 50; lookups: article + xmlId + name searches for 2,000 new articles (each ≤ 50 a call)
    assert sb.portal.calls.count("crm.item.productrow.add") == 2000
    admitted = sb.portal.http_calls - sb.portal.rate_limit.rejected
    writes = 2000 // 50
    assert admitted <= writes * 1.1 + 12, admitted  # writes + a handful of reads; row-by-row would be 4,000+


def round_half_up(x: float, places: int) -> float:
    from decimal import ROUND_HALF_UP, Decimal

    return float(Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def start_serve(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "b24goods", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("serve did not start")


def test_worker_killed_mid_import_resumes_with_every_row_exactly_once(sandbox: Any, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "B24GOODS_STORE": f"sqlite:///{tmp_path}/crash.db",
           "B24GOODS_QUEUE": "inline", "B24GOODS_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "B24GOODS_CLIENT_ID": sandbox.portal.client_id, "B24GOODS_CLIENT_SECRET": sandbox.portal.client_secret,
           "B24GOODS_JOB_LEASE": "2"}
    proc = start_serve(port, env)
    try:
        assert sandbox.install_app(f"http://127.0.0.1:{port}/install").status_code == 200
        deal = sandbox.add_deal(**{FIELD: ["big.csv", base64.b64encode(big_file(1500)).decode()]})
        sandbox.portal.latency = 0.05
        token = sandbox.portal.start_robot(2, deal, "b24goods_import_csv", {"file_field": FIELD})
        deadline = time.monotonic() + 60
        while len(sandbox.rows(2, deal)) < 300 and time.monotonic() < deadline:
            time.sleep(0.02)
        written_before_kill = len(sandbox.rows(2, deal))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert 0 < written_before_kill < 1500, written_before_kill
        proc = start_serve(port, env)  # recovers open jobs at start
        wf = sandbox.portal.wait_workflow(token, 120)
        assert wf.status == "done" and wf.return_values["error"] == "", wf.return_values
        rows = sandbox.rows(2, deal)
        names = [r["productName"] for r in rows]
        assert len(rows) == 1500 and len(set(names)) == 1500  # every row exactly once
    finally:
        proc.kill()
        proc.wait(10)


def test_unknown_function_path_is_404(app_sqlite: Any) -> None:
    assert requests.post(f"{app_sqlite.url}/nothing", timeout=5).status_code == 404
