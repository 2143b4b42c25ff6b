"""Shared fixtures: emulators (started here, stopped here), stores, the sandbox portal, served functions."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.emulators import firestore_emulator, pubsub_emulator


@pytest.fixture(scope="session")
def firestore_host() -> Iterator[str]:
    with firestore_emulator() as host:
        os.environ["FIRESTORE_EMULATOR_HOST"] = host
        yield host
        os.environ.pop("FIRESTORE_EMULATOR_HOST", None)


@pytest.fixture(scope="session")
def pubsub_host() -> Iterator[str]:
    with pubsub_emulator() as host:
        yield host


def reset_process_state() -> None:
    from b24goods.config import reset_config
    from b24goods.context import reset_clients
    from b24goods.jobs import reset_queues
    from b24goods.store import reset_shared_stores

    reset_config()
    reset_clients()
    reset_queues()
    reset_shared_stores()


@pytest.fixture(params=["sqlite", pytest.param("firestore", marks=pytest.mark.firestore)])
def store_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/b24goods.db"
    request.getfixturevalue("firestore_host")
    return f"firestore:test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path}/b24goods.db"


@pytest.fixture
def sandbox() -> Iterator[Any]:
    from sandbox import Sandbox

    sb = Sandbox.start()
    yield sb
    sb.stop()


@dataclass
class App:
    """The application served over HTTP, installed on a sandbox portal."""

    sandbox: Any
    url: str
    store_url: str

    def fn(self, name: str) -> str:
        return f"{self.url}/{name}"

    @property
    def portal(self) -> Any:
        return self.sandbox.portal

    def portal_store(self) -> Any:
        from b24goods.context import store
        from b24goods.store.portal import PortalStore

        return PortalStore(store(), self.portal.member_id)

    def run_robot(self, entity_type_id: int, item_id: int, code: str, properties: dict[str, Any] | None = None,
                  timeout: float = 60.0) -> Any:
        token = self.portal.start_robot(entity_type_id, item_id, code, properties or {})
        return self.portal.wait_workflow(token, timeout)


def serve_app(monkeypatch: pytest.MonkeyPatch, sandbox: Any, store_url: str, queue: str = "inline") -> Iterator[App]:
    from b24goods.serve import build_app
    from sandbox.server import ServerThread

    monkeypatch.setenv("B24GOODS_STORE", store_url)
    monkeypatch.setenv("B24GOODS_QUEUE", queue)
    monkeypatch.setenv("B24GOODS_CLIENT_ID", sandbox.portal.client_id)
    monkeypatch.setenv("B24GOODS_CLIENT_SECRET", sandbox.portal.client_secret)
    reset_process_state()
    server = ServerThread(build_app()).start()
    monkeypatch.setenv("B24GOODS_PUBLIC_URL", server.url)
    reset_process_state()
    try:
        yield App(sandbox, server.url, store_url)
    finally:
        from b24goods.context import store
        from b24goods.jobs import get_queue

        jobs = get_queue(store())
        wait = getattr(jobs, "wait_idle", None)
        if wait:
            wait(30)
        sandbox.portal.flush(10)
        server.stop()
        reset_process_state()


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, sandbox: Any, store_url: str) -> Iterator[App]:
    """Functions served under functions-framework, installed on the sandbox (SQLite and Firestore)."""
    for served in serve_app(monkeypatch, sandbox, store_url):
        resp = sandbox.install_app(served.fn("install"))
        assert resp.status_code == 200, resp.text
        yield served


@pytest.fixture
def app_sqlite(monkeypatch: pytest.MonkeyPatch, sandbox: Any, sqlite_url: str) -> Iterator[App]:
    for served in serve_app(monkeypatch, sandbox, sqlite_url):
        resp = sandbox.install_app(served.fn("install"))
        assert resp.status_code == 200, resp.text
        yield served


@pytest.fixture
def app_firestore(monkeypatch: pytest.MonkeyPatch, sandbox: Any, firestore_host: str) -> Iterator[App]:
    """The application on the Firestore emulator only (for cases about concurrent transactions)."""
    for served in serve_app(monkeypatch, sandbox, f"firestore:test-{uuid.uuid4().hex[:12]}"):
        resp = sandbox.install_app(served.fn("install"))
        assert resp.status_code == 200, resp.text
        yield served
