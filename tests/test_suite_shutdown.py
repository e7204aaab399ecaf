"""The suite's own end: pytest's closing collections do not scan the session's heap (tests/conftest.py
pytest_sessionfinish), so an xdist worker leaves within execnet's grace instead of being sent SIGINT."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_heap_is_frozen_before_pytest_s_closing_collections(tmp_path):
    (tmp_path / "test_one.py").write_text("def test_one():\n    pass\n")
    seen = tmp_path / "frozen"
    (tmp_path / "freeze_seen.py").write_text(
        "import gc\n\n\ndef pytest_unconfigure(config):\n"
        f"    open({str(seen)!r}, 'w').write(str(gc.get_freeze_count()))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}  # not this run's worker's settings
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(tmp_path)])
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
                          "-p", "freeze_seen", str(tmp_path / "test_one.py")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert int(seen.read_text()) > 0  # the objects alive at the session's end are frozen by then
