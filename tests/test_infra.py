"""The cloud path offline: the dry-run deploy, the generated API gateway config, Firestore TTL and index policy."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from b24goods.manifest import functions
from infra import deploy
from infra.gateway import gateway_config, render

ROOT = Path(__file__).resolve().parent.parent
ENV = {"B24GOODS_CLIENT_ID": "local.app.1", "B24GOODS_PUBLIC_URL": "https://b24.example.com"}


def deploys(plan: deploy.Plan) -> dict[str, list[str]]:
    return {s.argv[s.argv.index("deploy") + 1]: s.argv for s in plan.steps if "functions" in s.argv and "deploy" in s.argv}


def test_dry_run_prints_every_command_and_calls_nothing() -> None:
    out = subprocess.run([sys.executable, "infra/deploy.py", "--project", "acme-b24", "--dry-run"], cwd=ROOT,
                         capture_output=True, text=True, env={"PATH": "/nonexistent", **ENV}, timeout=60)
    assert out.returncode == 0, out.stderr  # gcloud is not on PATH: nothing was called
    lines = out.stdout.splitlines()
    assert all(line.startswith("gcloud ") for line in lines)
    assert sum(" functions deploy " in line for line in lines) == len(functions())
    assert (ROOT / "infra/build/gateway.yaml").exists()


def test_each_function_is_deployed_gen2_with_its_trigger_and_invoker() -> None:
    plan, missing = deploy.plan("acme-b24", env=ENV)
    assert missing == []
    by_name = deploys(plan)
    assert set(by_name) == {f.name for f in functions()}
    for f in functions():
        argv = by_name[f.name]
        assert "--gen2" in argv and f"--entry-point={f.handler}" in argv and f"--timeout={f.timeout}" in argv
        assert f"--max-instances={f.max_instances}" in argv
        assert "--service-account=b24goods-runtime@acme-b24.iam.gserviceaccount.com" in argv
        if f.http:
            assert "--trigger-http" in argv
            assert ("--allow-unauthenticated" in argv) is f.public
        else:
            assert f"--trigger-topic={f.topic}" in argv and "--retry" in argv and "--allow-unauthenticated" not in argv
    assert not deploys(plan)["worker"].count("--allow-unauthenticated")


def test_secrets_come_from_secret_manager_and_never_appear_in_files_or_commands() -> None:
    plan, _ = deploy.plan("acme-b24", env={**ENV, "B24GOODS_CLIENT_SECRET": "s3cr3t-value"})
    text = "\n".join(s.show() for s in plan.steps) + "\n".join(plan.files.values())
    assert "s3cr3t-value" not in text
    fed = [st for st in plan.steps if st.stdin_env]
    assert [st.stdin_env for st in fed] == ["B24GOODS_CLIENT_SECRET"] and "--data-file=-" in fed[0].argv
    assert all("--set-secrets=B24GOODS_CLIENT_SECRET=b24goods-client-secret:latest" in argv
               for argv in deploys(plan).values())
    env_file = plan.files["env-recalc_sum.yaml"]
    assert "B24GOODS_CLIENT_SECRET" not in env_file and 'B24GOODS_STORE: "firestore"' in env_file
    assert 'GOOGLE_CLOUD_PROJECT: "acme-b24"' in env_file and 'B24GOODS_PUBLIC_URL: "https://b24.example.com"' in env_file


def test_least_privilege_roles() -> None:
    plan, _ = deploy.plan("acme-b24", env=ENV)
    roles = [a.split("=", 1)[1] for s in plan.steps for a in s.argv if a.startswith("--role=")]
    assert set(roles) == {"roles/datastore.user", "roles/logging.logWriter", "roles/pubsub.publisher",
                          "roles/secretmanager.secretAccessor"}
    project_wide = [s for s in plan.steps if "projects" in s.argv and "add-iam-policy-binding" in s.argv]
    assert all("roles/pubsub.publisher" not in s.show() for s in project_wide)  # publisher only on our topics


def test_missing_settings_are_reported_before_anything_runs() -> None:
    _, missing = deploy.plan("acme-b24", env={})
    assert "B24GOODS_CLIENT_ID" in missing
    out = subprocess.run([sys.executable, "infra/deploy.py", "--project", "acme-b24"], cwd=ROOT,
                         capture_output=True, text=True, env={"PATH": "/nonexistent"}, timeout=60)
    assert out.returncode == 2 and "B24GOODS_CLIENT_ID" in out.stderr


def test_execute_converges_on_existing_resources_and_uses_the_gateway_host(tmp_path: Any) -> None:
    plan, _ = deploy.plan("acme-b24", env={"B24GOODS_CLIENT_ID": "local.app.1"})
    deploy.write_files(plan)
    ran: list[list[str]] = []

    def fake_run(argv: list[str], **kw: Any) -> Any:
        ran.append(argv)
        if "create" in argv and ("apis" in argv or "topics" in argv):
            return SimpleNamespace(returncode=1, stdout="", stderr="ERROR: Resource already exists")
        if "describe" in argv:
            return SimpleNamespace(returncode=0, stdout="b24goods-gw-abc.ew.gateway.dev\n", stderr="")
        return SimpleNamespace(returncode=0, stdout="", stderr="")

    deploy.execute(plan, run=fake_run)
    assert len(ran) == len(plan.steps)
    env_file = (ROOT / "infra/build/env-install.yaml").read_text(encoding="utf-8")
    assert 'B24GOODS_PUBLIC_URL: "https://b24goods-gw-abc.ew.gateway.dev"' in env_file

    def failing(argv: list[str], **kw: Any) -> Any:
        return SimpleNamespace(returncode=1, stdout="", stderr="PERMISSION_DENIED")

    with pytest.raises(SystemExit):
        deploy.execute(plan, run=failing)


def test_gateway_serves_every_http_function_at_its_name_under_one_domain() -> None:
    body = gateway_config("acme-b24", "europe-west3")
    assert body["swagger"] == "2.0"
    http = [f for f in functions() if f.http]
    assert set(body["paths"]) == {f"/{f.name}" for f in http}
    for f in http:
        backend = body["paths"][f"/{f.name}"]["post"]["x-google-backend"]
        assert backend["address"] == f"https://europe-west3-acme-b24.cloudfunctions.net/{f.name}"
        assert backend["deadline"] == float(f.timeout.rstrip("s")) and backend["path_translation"] == "CONSTANT_ADDRESS"
    ids = [op["operationId"] for path in body["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[A-Za-z0-9_]+", i) for i in ids)
    assert "&id" not in render(body)  # no YAML aliases


def test_every_expiring_collection_has_a_ttl_policy() -> None:
    spec = json.loads((ROOT / "infra/firestore.indexes.json").read_text(encoding="utf-8"))
    ttl = {o["collectionGroup"] for o in spec["fieldOverrides"] if o.get("ttl")}
    assert all(o["fieldPath"] == "expires_at" for o in spec["fieldOverrides"] if o.get("ttl"))
    expiring = set()
    for path in (ROOT / "b24goods").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for call in re.finditer(r"store\.(?:create|put)\([^)]*?\"(\w+)\"[^)]*?expires_at=", text, re.S):
            expiring.add(call.group(1))
        if "FINISHED_JOB_TTL" in text and '"jobs"' in text:
            expiring.add("jobs")
    assert expiring and expiring <= ttl, expiring - ttl
