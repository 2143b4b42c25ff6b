"""serverless.yml is the single list of functions: every handler it names loads with functions-framework."""

from __future__ import annotations

from pathlib import Path

import functions_framework

import main
from b24goods.manifest import functions, http_targets

ROOT = Path(__file__).resolve().parent.parent


def test_every_handler_in_the_manifest_loads() -> None:
    specs = functions()
    assert {"install", "events", "recalc_sum", "worker"} <= {f.name for f in specs}
    for spec in specs:
        kind = "http" if spec.http else "cloudevent"
        app = functions_framework.create_app(spec.handler, str(ROOT / "main.py"), kind)
        assert app is not None
        assert callable(getattr(main, spec.handler))


def test_every_robot_has_a_function_in_the_manifest() -> None:
    from activities import ALL

    assert {a.function for a in ALL} <= set(http_targets())


def test_unknown_target_is_an_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError):
        main.not_a_function  # noqa: B018


def test_worker_is_private_and_robots_are_public() -> None:
    by_name = {f.name: f for f in functions()}
    assert by_name["worker"].public is False and by_name["worker"].topic == "b24goods-jobs"
    assert by_name["recalc_sum"].public is True
