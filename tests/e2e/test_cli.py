"""The integrator's CLI: import-csv through an incoming webhook of the sandbox portal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.csv_corpus import SAMPLES

ROOT = Path(__file__).resolve().parent.parent.parent


def run_cli(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "B24GOODS_STORE": f"sqlite:///{tmp_path}/cli.db", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "b24goods", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


def test_cli_dry_run_then_import(sandbox: Any, tmp_path: Path) -> None:
    webhook = sandbox.portal.add_webhook(1)
    deal = sandbox.add_deal()
    sample = str(SAMPLES / "order-utf8-comma.csv")
    dry = run_cli("import-csv", sample, "--deal", str(deal), "--webhook", webhook, "--dry-run", "--create-products",
                  tmp_path=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "Пробный запуск" in dry.stdout and sandbox.rows(2, deal) == []
    real = run_cli("import-csv", sample, "--deal", str(deal), "--webhook", webhook, "--create-products", tmp_path=tmp_path)
    assert real.returncode == 0, real.stderr
    assert "добавлено 3" in real.stdout and "пакетов" in real.stderr
    assert len(sandbox.rows(2, deal)) == 3
    assert sandbox.item(2, deal)["isManualOpportunity"] == "Y"


def test_cli_reports_bad_lines(sandbox: Any, tmp_path: Path) -> None:
    webhook = sandbox.portal.add_webhook(1)
    deal = sandbox.add_deal()
    out = run_cli("import-csv", str(SAMPLES / "order-with-errors-cp1251.csv"), "--deal", str(deal), "--webhook", webhook,
                  tmp_path=tmp_path)
    assert out.returncode == 1 and "строка 3" in out.stderr and sandbox.rows(2, deal) == []
