"""socialcrm's pytest plugin: the plugin testing kit as fixtures, for partners' test suites.

Installing socialcrm registers this module under pytest's ``pytest11`` entry point, so any
test run in the same environment gets:

- ``scrm_server``: a ``socialcrm.plugins.testing.PluginServer``, a real server in-process
  with the built-in channels, the installed plugins and those of ``scrm_plugins``, on a
  fresh SQLite database;
- ``scrm_plugins``: the plugin modules to load beside the installed ones (none by default;
  override it to test a module before it is installed);
- pytest-asyncio in auto mode, so ``async def`` tests and fixtures run without markers,
  unless the command line chooses a mode (``--asyncio-mode=strict``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from socialcrm.plugins.testing import PluginServer

ASYNCIO_PLUGIN = "asyncio"
"""The name pytest-asyncio registers under; without it there is no mode to set."""


def pytest_configure(config: pytest.Config) -> None:
    """Run ``async def`` tests with pytest-asyncio unless the command line says otherwise."""
    if not config.pluginmanager.has_plugin(ASYNCIO_PLUGIN):
        return
    # An ini file that sets auto already agrees; one that leaves the default (strict) is what
    # made partners' async tests fail with "async def functions are not natively supported".
    if config.getoption("asyncio_mode") is None and config.getini("asyncio_mode") == "strict":
        config.option.asyncio_mode = "auto"


@pytest.fixture
def scrm_plugins() -> list[object]:
    """Plugin modules ``scrm_server`` registers beside the installed plugins (none)."""
    return []


@pytest.fixture
async def scrm_server(scrm_plugins: list[object]) -> AsyncIterator[PluginServer]:
    """A running socialcrm server with the plugins loaded, one workspace and its admin token."""
    # Imported here so that pytest runs that never use the fixture do not load the server.
    from socialcrm.plugins.testing import serve_plugins

    async with serve_plugins(*scrm_plugins) as server:
        yield server
