"""The example plugin examples/scrm-line is a partner's package: installed by ``make test``,
found through its ``scrm`` entry point, and its own tests pass as a partner runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from socialcrm.plugins.manager import PluginManager

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "scrm-line"
MAX_LINES = 120


def _installed() -> metadata.Distribution:
    try:
        return metadata.distribution("scrm-line")
    except metadata.PackageNotFoundError:
        pytest.fail("examples/scrm-line is not installed: `make install` (or `make test`) does it")


def test_the_example_is_installed_with_its_entry_point() -> None:
    dist = _installed()
    assert dist.version == "0.1.0"
    assert [(e.group, e.name) for e in dist.entry_points] == [("scrm", "line")]
    manager = PluginManager()
    assert "line" in manager.channels
    [info] = [p for p in manager.plugins() if p.name == "line"]
    assert (info.distribution, info.version, info.builtin) == ("scrm-line", "0.1.0", False)
    assert "scrm_channels" in info.hooks


def test_the_example_is_small_and_uses_only_the_public_contract() -> None:
    source = (EXAMPLE / "scrm_line.py").read_text("utf-8")
    code = [line for line in source.splitlines() if line.strip()]
    assert len(code) < MAX_LINES, f"scrm_line.py has {len(code)} lines of code"
    imports = [line for line in code if line.startswith(("import socialcrm", "from socialcrm"))]
    assert imports == ["from socialcrm.plugins import ("]


@pytest.mark.slow
def test_the_example_tests_pass_as_a_partner_runs_them() -> None:
    _installed()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=EXAMPLE,
        env={k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout and "warning" not in run.stdout, run.stdout
