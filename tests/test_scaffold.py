"""``scrm plugins new`` writes a channel-plugin package that installs and passes its own
tests at once, and ``scrm plugins`` names each plugin's distribution and version."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from socialcrm.server.cli import app
from socialcrm.server.scaffold import ScaffoldError, plugin_names


def _scrm(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=300
    )


def _virtualenv(where: Path) -> Path:
    """A new virtualenv that sees this environment's packages (socialcrm, pytest, setuptools)
    behind its own, as ``--system-site-packages`` would for a system-wide socialcrm."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    [packages] = (where / "lib").glob("python*/site-packages")
    ours = site.getsitepackages()[0]
    (packages / "_socialcrm_host.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return where / "bin" / "python"


def test_names_follow_the_channel_name() -> None:
    names = plugin_names("my-chat")
    assert (names.dist, names.module, names.class_name, names.title) == (
        "scrm-my-chat",
        "scrm_my_chat",
        "MyChatChannel",
        "My Chat",
    )
    for bad in ("Line", "1line", "li ne", "line-", "a--b", "x" * 41, ""):
        with pytest.raises(ScaffoldError, match="invalid channel name"):
            plugin_names(bad)


def test_bad_names_and_taken_folders_are_refused(tmp_path: Path) -> None:
    refused = _scrm("plugins", "new", "Line", "--directory", str(tmp_path))
    assert refused.exit_code == 2 and "invalid channel name" in refused.output
    taken = _scrm("plugins", "new", "wechat", "--directory", str(tmp_path))
    assert taken.exit_code == 2 and "already installed" in taken.output
    (tmp_path / "scrm-zalo").mkdir()
    (tmp_path / "scrm-zalo" / "mine.txt").write_text("keep me")
    exists = _scrm("plugins", "new", "zalo", "--directory", str(tmp_path))
    assert exists.exit_code == 2 and "already exists" in exists.output
    assert [p.name for p in (tmp_path / "scrm-zalo").iterdir()] == ["mine.txt"]
    assert "Traceback" not in refused.output + taken.output + exists.output


def test_plugins_names_each_distribution_and_version(partner_site: Path) -> None:
    listing = _scrm("plugins", "--json")
    assert listing.exit_code == 0, listing.output
    plugins = {p["name"]: p for p in json.loads(listing.stdout)["plugins"]}
    assert (plugins["acme"]["distribution"], plugins["acme"]["version"]) == ("scrm-acme", "1.0.0")
    wechat = plugins["socialcrm.plugins.wechat.plugin"]
    assert wechat["distribution"] == "socialcrm" and wechat["version"]
    table = _scrm("plugins")
    assert "scrm-acme 1.0.0" in table.stdout


@pytest.mark.slow
def test_a_new_plugin_installs_and_passes_its_tests(tmp_path: Path) -> None:
    written = _scrm("plugins", "new", "zalo", "--directory", str(tmp_path))
    assert written.exit_code == 0, written.output
    package = tmp_path / "scrm-zalo"
    assert {p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file()} == {
        "pyproject.toml",
        "README.md",
        "scrm_zalo.py",
        "tests/test_scrm_zalo.py",
    }
    # Only the public contract: a partner never imports the server's internals.
    source = (package / "scrm_zalo.py").read_text()
    assert "socialcrm.plugins import" in source and "socialcrm.server" not in source

    python = _virtualenv(tmp_path / "venv")
    install = _run(
        [str(python), "-m", "pip", "install", "--no-build-isolation", "--no-deps", "-e", "."],
        package,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    tests = _run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], package)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "6 passed" in tests.stdout

    listing = _run([str(python), "-m", "socialcrm.server.cli", "plugins", "--json"], package)
    assert listing.returncode == 0, listing.stderr
    found = json.loads(listing.stdout)
    [zalo] = [p for p in found["plugins"] if p["name"] == "zalo"]
    assert (zalo["distribution"], zalo["version"], zalo["builtin"]) == ("scrm-zalo", "0.1.0", False)
    assert {"name": "zalo", "title": "Zalo", "plugin": "zalo"} in found["channels"]
