"""The wheel as a user installs it: built from a clean copy, installed into a fresh venv.

The other tests run the project in editable mode, which hides a module left out of the wheel
(it happened: `validate` died with ModuleNotFoundError after `pip install .`). This one runs
every command's `--help` from the installed program, then `validate --quick` and `analyze`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, tracked_copy

pytestmark = pytest.mark.slow


def run(*args: str | Path, cwd: Path | None = None, timeout: float = 600) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The `balance-station` program of a fresh venv holding only the wheel and its deps."""
    base = tmp_path_factory.mktemp("wheel")
    source = tracked_copy(base / "source")
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", base / "dist", source)
    (wheel,) = (base / "dist").glob("balance_station-*.whl")
    run(sys.executable, "-m", "venv", base / "venv")
    run(base / "venv/bin/python", "-m", "pip", "install", "-q", wheel)
    return base / "venv/bin/balance-station"


def test_the_wheel_holds_every_package_of_the_source(installed):
    python = installed.parent / "python"
    packages = sorted(
        str(p.parent.relative_to(REPO)).replace("/", ".")
        for top in ("station", "hardware", "web")
        for p in (REPO / top).rglob("__init__.py")
    )
    for name in packages:
        run(python, "-c", f"import {name}")


def test_every_command_answers_help(installed):
    usage = run(installed, "--help")
    listing = usage.split("COMMAND\n", 2)[-1].split("\noptions:")[0]
    names = re.findall(r"^ {4}([a-z][a-z-]+)", listing, re.M)
    assert {"run", "simulate", "analyze", "validate", "calibrate", "health"} <= set(names)
    for name in names:
        assert name in run(installed, name, "--help")


def test_validate_quick_runs_on_the_shipped_data(installed, tmp_path):
    out = run(installed, "validate", "--quick", "--json", "--data", REPO / "tests/data/validation")
    results = json.loads(out)
    assert results["walking"] and results["standing"]
    assert all(row["f1"] >= 0.98 for row in results["walking"]), results["walking"]


def test_simulate_then_analyze(installed, tmp_path):
    rec = tmp_path / "walk.csv"
    run(installed, "simulate", "--seconds", "25", "--seed", "3", "--scenario", "backward",
        "--out", rec, cwd=tmp_path)  # fmt: skip
    report = json.loads(run(installed, "analyze", rec, "--json", cwd=tmp_path))
    truth = json.loads(rec.with_suffix(".truth.json").read_text())
    assert report["steps"], report
    assert abs(len(report["steps"]) - len(truth["contacts"])) <= 1
