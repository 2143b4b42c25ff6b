"""``python -m b24goods serve``: every function of ``main.py`` under functions-framework, at ``/<name>``.

Each target gets its own functions-framework app (as in the cloud, where each is deployed separately); a
dispatcher puts them under one host, the same paths the API gateway gives them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Response

ROOT = Path(__file__).resolve().parent.parent


def build_app(targets: tuple[str, ...] | None = None) -> Any:
    import functions_framework

    source = str(ROOT / "main.py")
    if targets is None:
        from .manifest import http_targets

        targets = http_targets()
    mounts = {name: functions_framework.create_app(name, source, "http") for name in targets}
    return Dispatcher(mounts)


class Dispatcher:
    """``/<name>`` and ``/<name>/...`` go to the function ``name`` (which sees the path ``/``)."""

    def __init__(self, mounts: dict[str, Any]) -> None:
        self.mounts = mounts
        self.not_found = Response("b24goods: unknown function", status=404)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "") or "/"
        name, _, rest = path.lstrip("/").partition("/")
        app = self.mounts.get(name)
        if app is None:
            return self.not_found(environ, start_response)
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/" + name
        environ["PATH_INFO"] = "/" + rest
        return app(environ, start_response)


def serve(host: str = "127.0.0.1", port: int = 8080) -> None:
    from werkzeug.serving import run_simple

    from .context import store
    from .jobs import get_queue

    queue = get_queue(store())
    recover = getattr(queue, "recover", None)
    if recover:
        recover()
    os.environ.setdefault("B24GOODS_PUBLIC_URL", f"http://{host}:{port}")
    run_simple(host, port, build_app(), threaded=True, use_reloader=False)
