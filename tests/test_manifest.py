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


def test_the_robot_table_names_each_module_by_its_own_code() -> None:
    import activities

    modules = {p.stem for p in (ROOT / "activities").glob("*.py")} - {"__init__", "base", "props"}
    assert set(activities.MODULES.values()) == modules  # a new robot module cannot be left unregistered
    for code, module in activities.MODULES.items():
        assert activities.by_code(code).code == code and activities.by_code(code).function == module
    assert [a.code for a in activities.ALL] == list(activities.MODULES)


def test_a_robot_function_imports_only_its_own_robot() -> None:
    """Cold start: ``recalc_sum`` does not load the CSV importer, the agreements or the other robots."""
    import ast
    import subprocess
    import sys

    probe = ("import sys, main; main.recalc_sum; "
             "print(sorted(m for m in sys.modules if m.startswith(('activities.', 'b24goods.importing', "
             "'b24goods.agreements', 'b24goods.sync'))))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = ast.literal_eval(out.stdout)  # a printed list of module names
    assert "activities.recalc_sum" in loaded
    assert not [m for m in loaded if m.startswith(("activities.import_csv", "activities.apply_agreement",
                                                    "b24goods.importing", "b24goods.agreements", "b24goods.sync"))]


def test_unknown_target_is_an_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError):
        main.not_a_function  # noqa: B018


def test_worker_is_private_and_robots_are_public() -> None:
    by_name = {f.name: f for f in functions()}
    assert by_name["worker"].public is False and by_name["worker"].topic == "b24goods-jobs"
    assert by_name["recalc_sum"].public is True
