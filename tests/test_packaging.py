"""socialcrm installs as one ``socialcrm`` namespace and works from the built wheel.

The slow test does what an operator does: build the wheel, install it into a fresh virtualenv
beside the ``schema`` validation library (whose top-level name would collide with ours if we
installed ``schema`` at the top level), then, from a folder outside the checkout, migrate,
load the demo, serve, and answer an authenticated GraphQL query.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest
from helpers.scrm_process import scrm_serve

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _source_packages() -> set[str]:
    """Every package folder of the checkout under its installed name."""
    names = set()
    for installed, folder in SETUPTOOLS["package-dir"].items():
        base = ROOT / folder
        names.add(installed)
        for init in base.rglob("__init__.py"):
            relative = init.parent.relative_to(base)
            names.add(".".join([installed, *relative.parts]))
        # Migration folders hold scripts, not packages (an __init__.py would shadow Alembic).
        for versions in base.rglob("versions"):
            names.add(".".join([installed, *versions.relative_to(base).parts]))
    return names


def test_every_package_folder_is_installed_under_socialcrm() -> None:
    listed = set(SETUPTOOLS["packages"])
    assert listed == _source_packages(), "update [tool.setuptools] packages in pyproject.toml"
    assert all(name.startswith("socialcrm.") for name in listed)


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


# Left out of the copy the wheel is built from: setuptools' build/ folder keeps files that
# were deleted from the source, and would put them in the wheel.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "*.db"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source") / "socialcrm"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    out = tmp_path_factory.mktemp("dist")
    _run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(source)],
        cwd=out,
    )
    [built] = out.glob("socialcrm-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel and the ``schema`` library; its bin folder."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, with_pip=True)
    python = home / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--quiet", str(wheel), "schema"], cwd=home)
    return home / "bin"


@pytest.mark.slow
def test_the_wheel_installs_nothing_but_socialcrm_at_the_top_level(installed: Path) -> None:
    python = installed / "python"
    record = _run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m; "
            "print(m.distribution('socialcrm').read_text('RECORD'))",
        ],
        cwd=installed,
    )
    tops = {Path(row[0]).parts[0] for row in csv.reader(record.splitlines()) if row}
    dist_info = {top for top in tops if top.endswith(".dist-info")}
    assert tops - dist_info - {".."} == {"socialcrm"}, tops
    files = {row[0] for row in csv.reader(record.splitlines()) if row}
    assert "socialcrm/migrations/env.py" in files
    assert "socialcrm/migrations/script.py.mako" in files
    assert any(name.startswith("socialcrm/migrations/versions/") for name in files)
    assert "socialcrm/server/graphiql.html" in files
    assert "socialcrm/server/static/graphiql/graphiql.min.js" in files
    assert "socialcrm/server/static/graphiql/licenses/graphiql.txt" in files


@pytest.mark.slow
def test_the_installed_wheel_migrates_serves_and_answers_outside_the_checkout(
    installed: Path, tmp_path: Path
) -> None:
    env = {"SCRM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'scrm.db'}", "SCRM_DEBUG": ""}
    scrm = str(installed / "scrm")
    full_env = {"PATH": f"{installed}:/usr/bin:/bin", **env}
    assert "migrated to head" in _run([scrm, "migrate"], cwd=tmp_path, env=full_env)
    _run([scrm, "demo"], cwd=tmp_path, env=full_env)
    sdl = _run([scrm, "export-schema", "--output", "-"], cwd=tmp_path, env=full_env)
    assert "type Customer implements Node" in sdl
    # The validation library named `schema` is importable beside us, untouched.
    _run(
        [str(installed / "python"), "-c", "from schema import Schema; Schema(int).validate(1)"],
        cwd=tmp_path,
    )
    with scrm_serve([scrm], cwd=tmp_path, env=env) as server:
        response = server.graphql("{ viewer { workspace { slug } } customers { totalCount } }")
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert data["viewer"]["workspace"]["slug"] == "demo"
        assert data["customers"]["totalCount"] > 0
