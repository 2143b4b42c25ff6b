"""``make demo``, the main job a newcomer runs first: the whole story against the sandbox, every check holding."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_tells_the_whole_story() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("B24GOODS_")}
    out = subprocess.run([sys.executable, "-m", "b24goods", "demo"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, env={**env, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    for chapter in ("recalc_sum robot", "import_csv robot", "locks the rows", "supplementary agreement",
                    "Two-way sync", "tab of the deal card", "Executors get CRM tasks", "== Done"):
        assert chapter in text, chapter
    assert "→ MATCH" in text and "MISMATCH" not in text  # the robot's sum equals the hand calculation
    assert "the same file again: added 0" in text and "rows written: 0" in text  # no duplicates; bad file refused
    assert "(reverted)" in text  # a direct edit of a locked deal is put back
    assert "applied a second time" in text and "(same)" in text and "(unchanged)" in text
    assert "forged application token: HTTP 401" in text
    assert "tasks_created=1" in text and "несколько сотрудников" in text
    assert "Traceback" not in out.stderr
