"""The sandbox portal plus the application's functions, both served on loopback: the demo and the benches.

Sets the application's environment (embedded store at ``store_url``, inline queue, OAuth credentials of the
sandbox portal, public URL of the served functions) and installs the application on the portal.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import Sandbox
from .server import ServerThread


class LocalStack:
    def __init__(self, store_url: str, *, install: bool = True) -> None:
        from b24goods.config import reset_config
        from b24goods.serve import build_app

        if store_url.startswith("sqlite:///"):
            db_file = Path(store_url[len("sqlite:///"):])
            db_file.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        os.environ["B24GOODS_STORE"] = store_url
        os.environ.setdefault("B24GOODS_QUEUE", "inline")
        self.sandbox = Sandbox.start()
        os.environ["B24GOODS_CLIENT_ID"] = self.sandbox.portal.client_id
        os.environ["B24GOODS_CLIENT_SECRET"] = self.sandbox.portal.client_secret
        reset_config()
        self.functions = ServerThread(build_app()).start()
        os.environ["B24GOODS_PUBLIC_URL"] = self.functions.url
        reset_config()
        self.install_response: Any = None
        if install:
            self.install_response = self.sandbox.install_app(self.fn("install"))
            self.install_response.raise_for_status()

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        from b24goods.context import store
        from b24goods.jobs import get_queue

        wait = getattr(get_queue(store()), "wait_idle", None)
        if wait:
            wait(30)
        self.sandbox.stop()
        self.functions.stop()

    @property
    def portal(self) -> Any:
        return self.sandbox.portal

    def fn(self, name: str) -> str:
        return f"{self.functions.url}/{name}"

    def robot(self, entity_type_id: int, item_id: int, code: str, props: dict[str, Any] | None = None,
              timeout: float = 120) -> Any:
        token = self.portal.start_robot(entity_type_id, item_id, code, props or {})
        return self.portal.wait_workflow(token, timeout)

    def robot_on_stage(self, entity_type_id: int, item_id: int, stage: str, code: str,
                       props: dict[str, Any] | None = None, user_id: int = 2) -> Any:
        """Place the robot on a stage, move the card there, wait for the robot's answer."""
        self.portal.place_robot(entity_type_id, stage, code, props or {})
        before = set(self.portal.workflows)
        self.sandbox.move(entity_type_id, item_id, stage, user_id=user_id)
        token = next(t for t in self.portal.workflows if t not in before)
        return self.portal.wait_workflow(token, 120)
