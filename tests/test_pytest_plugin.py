"""socialcrm's pytest plugin, as a partner's test run in the same environment sees it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from socialcrm.plugins import pytest_plugin

ASYNC_TEST = """
import asyncio


async def test_sleeps() -> None:
    await asyncio.sleep(0)
"""


def _pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=folder,
        env={k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_it_is_loaded_here_too(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.is_registered(pytest_plugin)
    # This suite chose its own mode in pyproject.toml; the plugin leaves it alone.
    assert pytestconfig.getini("asyncio_mode") == "auto"


@pytest.mark.slow
def test_async_tests_run_without_configuration(tmp_path: Path) -> None:
    (tmp_path / "test_partner.py").write_text(ASYNC_TEST, "utf-8")
    run = _pytest(tmp_path)
    assert run.returncode == 0 and "1 passed" in run.stdout, run.stdout + run.stderr


@pytest.mark.slow
def test_the_command_line_chooses_another_mode(tmp_path: Path) -> None:
    (tmp_path / "test_partner.py").write_text(ASYNC_TEST, "utf-8")
    run = _pytest(tmp_path, "--asyncio-mode=strict")
    assert run.returncode != 0 and "not natively supported" in run.stdout, run.stdout
