"""Deploy b24goods to a Google Cloud project from ``serverless.yml``: ``python infra/deploy.py --project P``.

``--dry-run`` prints every command and writes the generated files under ``infra/build/`` without calling
anything (no cloud account needed; tested offline). Steps, all idempotent (a resource that already exists is
kept):

1. enable the APIs; 2. the runtime service account and its least-privilege roles (Firestore user, log writer,
publisher on our topics only, accessor of our secret only); 3. Firestore (native mode) with the TTL policies
and index exemptions of ``infra/firestore.indexes.json``; 4. the Pub/Sub topics; 5. the API gateway serving
every HTTP function at ``/<name>`` under one domain; 6. every function with ``gcloud functions deploy --gen2``
(public invoker only for the functions Bitrix24 calls; Pub/Sub-triggered ones private, with retries);
7. the Cloud Scheduler job of the periodic ``reconcile``.

Why not ``serverless deploy``: the Serverless Framework's Google plugin (serverless-google-cloudfunctions)
deploys only 1st-gen functions through Cloud Deployment Manager, which Google retired, and makes them
private; Bitrix24 must reach the robots' handlers publicly, and gen2 gives concurrency and longer timeouts.
The manifest keeps that framework's shape, so it stays readable to anyone who knows it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
BUILD = INFRA / "build"
REL_BUILD = "infra/build"  # commands run from the repository root (`--source=.` uploads it, minus .gcloudignore)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from b24goods.manifest import FunctionSpec, functions, load_manifest  # noqa: E402
from infra.gateway import config_id, gateway_config, render  # noqa: E402

APIS = ("cloudfunctions.googleapis.com", "run.googleapis.com", "cloudbuild.googleapis.com",
        "artifactregistry.googleapis.com", "eventarc.googleapis.com", "pubsub.googleapis.com",
        "firestore.googleapis.com", "secretmanager.googleapis.com", "cloudscheduler.googleapis.com",
        "apigateway.googleapis.com", "servicemanagement.googleapis.com", "servicecontrol.googleapis.com")
PROJECT_ROLES = ("roles/datastore.user", "roles/logging.logWriter")
GATEWAY_HOST = "<gateway hostname>"


@dataclass
class Step:
    argv: list[str]
    exists_ok: bool = False  # "already exists" is success: re-running the deploy converges
    capture: str | None = None  # remember the command's output under this name
    stdin_env: str | None = None  # fed from this environment variable (a secret: never printed, never a file)

    def show(self) -> str:
        return shlex.join(self.argv)


@dataclass
class Plan:
    project: str
    region: str
    steps: list[Step]
    files: dict[str, str]


def _env_value(value: Any, env: dict[str, str], missing: list[str]) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in env:
            return env[name]
        missing.append(name)
        return f"<{name}>"

    return re.sub(r"\$\{env:([A-Z0-9_]+)\}", sub, str(value))


def plan(project: str, region: str | None = None, env: dict[str, str] | None = None,
         public_url: str | None = None) -> tuple[Plan, list[str]]:
    """Every step and generated file of a deploy. Returns the plan and the ``${env:...}`` names not set."""
    manifest = load_manifest()
    provider = manifest.get("provider") or {}
    custom = manifest.get("custom") or {}
    region = region or provider.get("region", "europe-west3")
    env = dict(env if env is not None else os.environ)
    env.setdefault("GOOGLE_CLOUD_PROJECT", project)
    if public_url:
        env["B24GOODS_PUBLIC_URL"] = public_url
    env.setdefault("B24GOODS_PUBLIC_URL", f"https://{GATEWAY_HOST}")
    missing: list[str] = []
    specs = functions()
    sa_name = custom.get("serviceAccount", "b24goods-runtime")
    sa = f"{sa_name}@{project}.iam.gserviceaccount.com"
    member = f"serviceAccount:{sa}"
    secrets: dict[str, str] = dict(custom.get("secrets") or {})
    topics = sorted({f.topic for f in specs if f.topic})
    gw = custom.get("gateway") or {}
    api, gateway = gw.get("api", "b24goods"), gw.get("gateway", "b24goods-gw")
    gcloud = ["gcloud", "--quiet", f"--project={project}"]
    steps: list[Step] = [Step([*gcloud, "services", "enable", *APIS])]
    steps.append(Step([*gcloud, "iam", "service-accounts", "create", sa_name,
                       "--display-name=b24goods functions"], exists_ok=True))
    steps += [Step([*gcloud, "projects", "add-iam-policy-binding", project, f"--member={member}", f"--role={role}",
                    "--condition=None"]) for role in PROJECT_ROLES]
    for env_name, secret in sorted(secrets.items()):
        steps.append(Step([*gcloud, "secrets", "create", secret, "--replication-policy=automatic"], exists_ok=True))
        if env.get(env_name):  # a new version from the environment, through stdin
            steps.append(Step([*gcloud, "secrets", "versions", "add", secret, "--data-file=-"], stdin_env=env_name))
        steps.append(Step([*gcloud, "secrets", "add-iam-policy-binding", secret, f"--member={member}",
                           "--role=roles/secretmanager.secretAccessor"]))
    steps += _firestore_steps(gcloud, region)
    for topic in topics:
        steps.append(Step([*gcloud, "pubsub", "topics", "create", topic], exists_ok=True))
        steps.append(Step([*gcloud, "pubsub", "topics", "add-iam-policy-binding", topic, f"--member={member}",
                           "--role=roles/pubsub.publisher"]))
    body = gateway_config(project, region, specs)
    cfg = config_id(body)
    files = {"gateway.yaml": render(body)}
    steps.append(Step([*gcloud, "api-gateway", "apis", "create", api], exists_ok=True))
    steps.append(Step([*gcloud, "api-gateway", "api-configs", "create", cfg, f"--api={api}",
                       f"--openapi-spec={REL_BUILD}/gateway.yaml", f"--backend-auth-service-account={sa}"],
                      exists_ok=True))
    steps.append(Step([*gcloud, "api-gateway", "gateways", "create", gateway, f"--api={api}", f"--api-config={cfg}",
                       f"--location={region}"], exists_ok=True))
    steps.append(Step([*gcloud, "api-gateway", "gateways", "update", gateway, f"--api={api}", f"--api-config={cfg}",
                       f"--location={region}"]))
    steps.append(Step([*gcloud, "api-gateway", "gateways", "describe", gateway, f"--location={region}",
                       "--format=value(defaultHostname)"], capture="gateway_host"))
    for f in specs:
        env_file = f"env-{f.name}.yaml"
        values = {k: _env_value(v, env, missing) for k, v in f.environment if k not in secrets}
        values["GOOGLE_CLOUD_PROJECT"] = project  # gen2 does not set it; the Pub/Sub topic path needs it
        files[env_file] = "".join(f"{k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in sorted(values.items()))
        steps.append(Step(_deploy_argv(gcloud, f, region, sa, f"{REL_BUILD}/{env_file}", secrets)))
        if not f.public:
            steps.append(Step([*gcloud, "functions", "add-invoker-policy-binding", f.name, f"--region={region}",
                               f"--member={member}"]))
        if f.schedule and f.topic:
            steps.append(Step([*gcloud, "scheduler", "jobs", "create", "pubsub", f"b24goods-{f.name}",
                               f"--location={region}", f"--schedule={f.schedule}", f"--topic={f.topic}",
                               "--message-body={}"], exists_ok=True))
    return Plan(project, region, steps, files), sorted(set(missing))


def _deploy_argv(gcloud: list[str], f: FunctionSpec, region: str, sa: str, env_file: str,
                 secrets: dict[str, str]) -> list[str]:
    argv = [*gcloud, "functions", "deploy", f.name, "--gen2", f"--region={region}",
            f"--runtime={(load_manifest().get('provider') or {}).get('runtime', 'python312')}",
            "--source=.", f"--entry-point={f.handler}", f"--memory={f.memory}Mi", f"--timeout={f.timeout}",
            f"--max-instances={f.max_instances}", f"--service-account={sa}", f"--env-vars-file={env_file}"]
    if secrets:
        argv.append("--set-secrets=" + ",".join(f"{k}={v}:latest" for k, v in sorted(secrets.items())))
    if f.http:
        argv += ["--trigger-http", "--allow-unauthenticated" if f.public else "--no-allow-unauthenticated"]
    elif f.topic:
        argv += [f"--trigger-topic={f.topic}", "--retry", f"--trigger-service-account={sa}"]
    return argv


def _firestore_steps(gcloud: list[str], region: str) -> list[Step]:
    spec = json.loads((INFRA / "firestore.indexes.json").read_text(encoding="utf-8"))
    steps = [Step([*gcloud, "firestore", "databases", "create", f"--location={region}", "--type=firestore-native"],
                  exists_ok=True)]
    for override in spec.get("fieldOverrides", []):
        group, path = override["collectionGroup"], override["fieldPath"]
        if override.get("ttl"):
            steps.append(Step([*gcloud, "firestore", "fields", "ttls", "update", path, f"--collection-group={group}",
                               "--enable-ttl", "--async"]))
        if override.get("indexes") == [] and not override.get("ttl"):
            steps.append(Step([*gcloud, "firestore", "indexes", "fields", "update", path,
                               f"--collection-group={group}", "--disable-indexes", "--async"]))
    for index in spec.get("indexes", []):
        argv = [*gcloud, "firestore", "indexes", "composite", "create", f"--collection-group={index['collectionGroup']}",
                f"--query-scope={index.get('queryScope', 'COLLECTION')}"]
        argv += [f"--field-config=field-path={fld['fieldPath']},order={fld['order'].lower()}"
                 for fld in index["fields"]]
        steps.append(Step(argv + ["--async"], exists_ok=True))
    return steps


def write_files(p: Plan) -> None:
    BUILD.mkdir(parents=True, exist_ok=True)
    for name, text in p.files.items():
        (BUILD / name).write_text(text, encoding="utf-8")


def execute(p: Plan, run: Any = subprocess.run) -> None:
    captured: dict[str, str] = {}
    for step in p.steps:
        argv = [a.replace(GATEWAY_HOST, captured.get("gateway_host", GATEWAY_HOST)) for a in step.argv]
        if captured.get("gateway_host") and any(a.startswith("--env-vars-file=") for a in argv):
            _fill_public_url(argv, captured["gateway_host"])
        print("+", shlex.join(argv), flush=True)
        feed = os.environ.get(step.stdin_env, "") if step.stdin_env else None
        proc = run(argv, capture_output=True, text=True, cwd=ROOT, input=feed)
        if proc.returncode != 0:
            if step.exists_ok and "already exists" in (proc.stderr or "").lower():
                continue
            sys.stderr.write(proc.stderr or "")
            raise SystemExit(f"deploy stopped: {argv[3:6]} failed with exit code {proc.returncode}")
        if step.capture:
            captured[step.capture] = (proc.stdout or "").strip()


def _fill_public_url(argv: list[str], host: str) -> None:
    env_file = ROOT / next(a for a in argv if a.startswith("--env-vars-file=")).split("=", 1)[1]
    text = env_file.read_text(encoding="utf-8")
    env_file.write_text(text.replace(GATEWAY_HOST, host), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default=os.environ.get("GOOGLE_CLOUD_PROJECT"))
    parser.add_argument("--region")
    parser.add_argument("--public-url", help="the app's public address (default: the API gateway's hostname)")
    parser.add_argument("--dry-run", action="store_true", help="print every command, call nothing")
    args = parser.parse_args(argv)
    if not args.project:
        parser.error("--project (or GOOGLE_CLOUD_PROJECT) is required")
    p, missing = plan(args.project, args.region, public_url=args.public_url)
    write_files(p)
    if args.dry_run:
        for step in p.steps:
            print(step.show())
        if missing:
            print(f"# not set (shown as <NAME>): {', '.join(missing)}", file=sys.stderr)
        return 0
    if missing:
        parser.error(f"set these environment variables first: {', '.join(missing)}")
    execute(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
