"""The cloud job path: B24GOODS_QUEUE=pubsub, the worker as a Pub/Sub-triggered function, on the official Pub/Sub
and Firestore emulators. Delivery is at least once: duplicated and redelivered messages must not duplicate work."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import App, serve_app
from tests.e2e.test_import_large import FIELD, big_file

ROOT = Path(__file__).resolve().parent.parent.parent
PROJECT = "b24goods-test"


@pytest.fixture
def cloud_app(monkeypatch: pytest.MonkeyPatch, sandbox: Any, firestore_host: str,
              pubsub_host: str) -> Iterator[tuple[App, Any]]:
    import functions_framework

    from sandbox.eventarc import PubSubPush
    from sandbox.server import ServerThread

    topic = f"jobs-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_host)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    monkeypatch.setenv("B24GOODS_PUBSUB_TOPIC", topic)
    for app in serve_app(monkeypatch, sandbox, f"firestore:test-{uuid.uuid4().hex[:12]}", queue="pubsub"):
        worker = ServerThread(functions_framework.create_app("worker", str(ROOT / "main.py"), "cloudevent")).start()
        bridge = PubSubPush(PROJECT, topic, worker.url, duplicate=True).start()
        try:
            assert sandbox.install_app(app.fn("install")).status_code == 200
            yield app, bridge
        finally:
            bridge.stop()
            worker.stop()


def test_large_import_runs_through_pubsub_once_despite_duplicates_and_redelivery(cloud_app: Any) -> None:
    app, bridge = cloud_app
    sb = app.sandbox
    deal = sb.add_deal(**{FIELD: ["big.csv", base64.b64encode(big_file(400)).decode()]})
    wf = app.run_robot(2, deal, "b24goods_import_csv", {"file_field": FIELD}, timeout=240)
    assert wf.return_values["error"] == "", wf.return_values
    rows = sb.rows(2, deal)
    assert len(rows) == 400 and len({r["productName"] for r in rows}) == 400
    assert sb.portal.calls.count("bizproc.event.send") == 1
    # every message was delivered twice at once: one copy ran the job, the other found it leased
    wait_for(lambda: len(bridge.deliveries) >= 2)
    assert 200 in bridge.deliveries
    # a late redelivery of the same message (Pub/Sub may redeliver after an ack is lost) does nothing
    from b24goods.context import store

    jobs = store().list(sb.portal.member_id, "jobs")
    assert len(jobs) == 1 and jobs[0][1]["state"] == "done"
    writes_before = sb.portal.calls.count("crm.item.productrow.add")
    sent = len(bridge.deliveries)
    bridge.publish(json.dumps({"member_id": sb.portal.member_id, "job_id": jobs[0][0]}).encode())
    wait_for(lambda: len(bridge.deliveries) >= sent + 2)
    assert bridge.deliveries[sent:] == [200, 200]
    assert sb.portal.calls.count("crm.item.productrow.add") == writes_before == 400
    assert sb.portal.calls.count("bizproc.event.send") == 1
    assert len(sb.rows(2, deal)) == 400


def wait_for(check: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.1)
