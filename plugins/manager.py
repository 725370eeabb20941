"""The plugin manager: loads the built-in channels and every installed ``scrm`` plugin."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from importlib import metadata
from typing import Any, TypeVar

import pluggy

from socialcrm.plugins import spec
from socialcrm.plugins.channel import Channel

# Built-ins register under their dotted module names, which no entry point can take, exactly
# like a partner's package otherwise.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "socialcrm.plugins.wechat.plugin",
    "socialcrm.plugins.weibo.plugin",
    "socialcrm.plugins.email.plugin",
    "socialcrm.plugins.text.plugin",
)

T = TypeVar("T")


class DuplicateChannel(RuntimeError):
    """Two plugins provide a channel with the same name."""


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """One registered plugin, as ``scrm plugins`` lists it."""

    name: str
    distribution: str | None
    """The installed distribution that provides it (``scrm-line``); None for a plugin
    registered by code."""
    version: str | None
    hooks: tuple[str, ...]
    builtin: bool


async def await_me_maybe(value: T | Awaitable[T]) -> T:
    """Await ``value`` if a hook returned an awaitable."""
    if inspect.isawaitable(value):
        return await value
    return value


class PluginManager:
    """The server's view of the installed plugins and the channels they provide."""

    def __init__(self, *, load_entrypoints: bool = True, builtins: Iterable[str] = BUILTIN_PLUGINS):
        self.pm = pluggy.PluginManager(spec.PROJECT_NAME)
        self.pm.add_hookspecs(spec)
        self._builtin_names: set[str] = set()
        for module_name in builtins:
            self.pm.register(importlib.import_module(module_name), name=module_name)
            self._builtin_names.add(module_name)
        if load_entrypoints:
            self.pm.load_setuptools_entrypoints(spec.PROJECT_NAME)
        self._channels: dict[str, Channel] | None = None

    @property
    def hook(self) -> Any:
        """pluggy's hook relay: ``manager.hook.scrm_interaction_stored(...)``."""
        return self.pm.hook

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register a plugin object (tests, embedding); resets the channel registry."""
        self.pm.register(plugin, name=name)
        self._channels = None

    def unregister(self, plugin: object) -> None:
        """Remove a plugin registered with ``register``."""
        self.pm.unregister(plugin)
        self._channels = None

    @property
    def channels(self) -> dict[str, Channel]:
        """Every installed channel by name; raises ``DuplicateChannel`` on a clash."""
        if self._channels is None:
            found: dict[str, Channel] = {}
            for provided in self.pm.hook.scrm_channels():
                for channel in provided or ():
                    if not channel.name:
                        raise ValueError(f"channel {channel!r} has no name")
                    if channel.name in found:
                        raise DuplicateChannel(
                            f"two plugins provide a channel named {channel.name!r}: "
                            f"{type(found[channel.name]).__module__} and "
                            f"{type(channel).__module__}"
                        )
                    found[channel.name] = channel
            self._channels = dict(sorted(found.items()))
        return self._channels

    def channel(self, name: str) -> Channel | None:
        """The channel called ``name``, or None."""
        return self.channels.get(name)

    def plugins(self) -> list[PluginInfo]:
        """Every registered plugin with its distribution version and implemented hooks."""
        dists = {id(plugin): dist for plugin, dist in self.pm.list_plugin_distinfo()}
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            dist = dists.get(id(plugin))
            builtin = name in self._builtin_names
            if dist is not None:
                distribution, version = dist.project_name, dist.version
            elif builtin:
                distribution, version = "socialcrm", _own_version()
            else:
                distribution, version = None, None
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or ()))
            infos.append(
                PluginInfo(
                    name=name,
                    distribution=distribution,
                    version=version,
                    hooks=hooks,
                    builtin=builtin,
                )
            )
        return infos


def _own_version() -> str | None:
    try:
        return metadata.version("socialcrm")
    except metadata.PackageNotFoundError:
        return None
