"""Cold start of every function in ``serverless.yml``: import time and first-request time, in fresh processes.

A cold instance pays for: the interpreter (not counted), importing its target through ``main.py``, building the
functions-framework app, and its first request. Every function imports only its own module; the Firestore
and Pub/Sub clients are imported lazily, on the first store or queue use, and reused by later requests. The
Firestore client's share is measured apart (its import plus creating the client), since a robot pays it on
its first request in the cloud.

Target: under 0.6 s of import for a robot function on this machine.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .common import table, write

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import functions_framework
import main
target = getattr(main, sys.argv[1])
app = functions_framework.create_app(sys.argv[1], "main.py", sys.argv[2])
t1 = time.perf_counter()
client = app.test_client()
if sys.argv[2] == "http":
    resp = client.post("/", data={"auth[member_id]": "bench", "auth[application_token]": "forged",
                                  "event_token": "x", "code": "b24goods_recalc_sum"})
    status = resp.status_code
else:
    status = 0
t2 = time.perf_counter()
heavy = sorted(m for m in ("google.cloud.firestore", "google.cloud.pubsub_v1", "pydantic", "requests")
               if m in sys.modules)
print(json.dumps({"import": t1 - t0, "first": t2 - t1, "status": status, "loaded": heavy}))
"""

FIRESTORE_PROBE = r"""
import json, time
t0 = time.perf_counter()
from google.cloud import firestore
t1 = time.perf_counter()
firestore.Client(project="bench")
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "client": t2 - t1}))
"""


def _run(code: str, *args: str, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, env=env,
                         timeout=120)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run() -> dict[str, Any]:
    import os

    from b24goods.manifest import functions

    tmp = tempfile.mkdtemp(prefix="b24goods-cold-")
    env = {**os.environ, "B24GOODS_STORE": f"sqlite:///{tmp}/cold.db", "B24GOODS_QUEUE": "inline",
           "FIRESTORE_EMULATOR_HOST": "127.0.0.1:9", "PYTHONDONTWRITEBYTECODE": "0"}
    results = []
    for f in functions():
        kind = "http" if f.http else "cloudevent"
        _run(PROBE, f.handler, kind, env=env)  # warm the bytecode cache: a deployed image has it compiled
        runs = [_run(PROBE, f.handler, kind, env=env) for _ in range(RUNS)]
        results.append({"function": f.name, "import_s": round(statistics.median(r["import"] for r in runs), 3),
                        "first_request_s": round(statistics.median(r["first"] for r in runs), 3),
                        "first_status": runs[0]["status"], "heavy_modules_loaded": runs[0]["loaded"]})
    fs = [_run(FIRESTORE_PROBE, env=env) for _ in range(RUNS)]
    firestore = {"import_s": round(statistics.median(r["import"] for r in fs), 3),
                 "client_s": round(statistics.median(r["client"] for r in fs), 3)}
    robots = [r for r in results if r["function"] not in ("install", "events", "worker", "reconcile")]
    worst = max(r["import_s"] for r in robots)
    return {"results": results, "firestore": firestore, "worst_robot_import_s": worst,
            "firestore_share_of_robot_cold_start": round(
                (firestore["import_s"] + firestore["client_s"]) /
                (worst + firestore["import_s"] + firestore["client_s"]), 2)}


def main() -> None:
    data = run()
    write("cold_start", data)
    print("cold start per function (fresh process, median of 5; first request = a forged call → 401)")
    print(table(["function", "import s", "first request s", "heavy modules at import"],
                [[r["function"], r["import_s"], r["first_request_s"], ", ".join(r["heavy_modules_loaded"]) or "—"]
                 for r in data["results"]]))
    fs = data["firestore"]
    print(f"Firestore client (paid on the first store use): import {fs['import_s']} s + client {fs['client_s']} s; "
          f"share of a robot's cold start with it: {data['firestore_share_of_robot_cold_start']:.0%}")


if __name__ == "__main__":
    main()
