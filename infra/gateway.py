"""API Gateway configuration (OpenAPI 2.0, as API Gateway requires) generated from ``serverless.yml``.

Every HTTP function is served under one domain at ``/<name>`` — the paths ``python -m b24goods serve`` gives
locally — so the portal knows one address. The backend of each path is the function's gen2 URL
(``https://REGION-PROJECT.cloudfunctions.net/NAME``, known before deploying), called with the gateway's service
account; the deadline is the function's own timeout (API Gateway's default of 15 s would cut a long import's
first response).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from b24goods.manifest import FunctionSpec, functions, load_manifest  # noqa: E402


def seconds(timeout: str) -> float:
    return float(timeout.rstrip("s"))


def function_url(project: str, region: str, name: str) -> str:
    return f"https://{region}-{project}.cloudfunctions.net/{name}"


def gateway_config(project: str, region: str, specs: list[FunctionSpec] | None = None) -> dict[str, Any]:
    specs = [f for f in (specs or functions()) if f.http]
    paths: dict[str, Any] = {}
    for f in specs:
        backend = {"address": function_url(project, region, f.name), "deadline": seconds(f.timeout),
                   "path_translation": "CONSTANT_ADDRESS"}
        # POST: robots, events, install and placement calls (form-encoded); GET: the install page opened directly
        paths[f"/{f.name}"] = {
            method: {"operationId": f"{f.name}_{method}", "x-google-backend": backend,
                     "responses": {"200": {"description": "OK"}, "401": {"description": "call not verified"}}}
            for method in ("post", "get")}
    body: dict[str, Any] = {"swagger": "2.0", "info": {"title": str(load_manifest().get("service", "b24goods")), "version": "1"},
            "schemes": ["https"], "produces": ["application/json", "text/html"], "paths": paths}
    body["info"]["version"] = config_id(body)
    return body


def config_id(body: dict[str, Any]) -> str:
    """API configs are immutable: a new one per content, named after its hash (re-deploys of the same reuse it)."""
    import json

    digest = hashlib.sha256(json.dumps(body.get("paths"), sort_keys=True).encode()).hexdigest()[:10]
    return f"cfg-{digest}"


def render(body: dict[str, Any]) -> str:
    import yaml

    class NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True  # API Gateway's parser is strict: spell every backend out

    return str(yaml.dump(body, Dumper=NoAliases, sort_keys=False, allow_unicode=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="print the API Gateway config generated from serverless.yml")
    parser.add_argument("--project", required=True)
    parser.add_argument("--region", default=(load_manifest().get("provider") or {}).get("region", "europe-west3"))
    args = parser.parse_args(argv)
    sys.stdout.write(render(gateway_config(args.project, args.region)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
