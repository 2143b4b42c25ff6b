"""Reads ``serverless.yml``: the one list of functions (targets, triggers, sizes)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

MANIFEST = Path(__file__).resolve().parent.parent / "serverless.yml"


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    handler: str
    http: bool
    public: bool
    memory: int
    timeout: str
    max_instances: int
    topic: str | None
    schedule: str | None = None
    environment: tuple[tuple[str, str], ...] = ()


@lru_cache(maxsize=1)
def load_manifest(path: str | None = None) -> dict[str, Any]:
    import yaml

    with open(path or MANIFEST, encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


def functions(path: str | None = None) -> list[FunctionSpec]:
    data = load_manifest(path)
    provider = data.get("provider") or {}
    out = []
    for name, spec in (data.get("functions") or {}).items():
        events = spec.get("events") or []
        http = any("http" in e for e in events)
        topic = next((e["event"].get("resource") for e in events if "event" in e), None)
        out.append(FunctionSpec(
            name=name, handler=spec.get("handler", name), http=http, public=bool(spec.get("public", http)),
            memory=int(spec.get("memorySize", provider.get("memorySize", 256))),
            timeout=str(spec.get("timeout", provider.get("timeout", "60s"))),
            max_instances=int(spec.get("maxInstances", 10)), topic=topic, schedule=spec.get("schedule"),
            environment=tuple(sorted({**(provider.get("environment") or {}),
                                      **(spec.get("environment") or {})}.items()))))
    return out


def http_targets() -> tuple[str, ...]:
    return tuple(f.handler for f in functions() if f.http)
