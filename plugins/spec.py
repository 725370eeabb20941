"""The plugin contract: every hook a socialcrm plugin can implement.

A plugin is a module or object with functions named after these hooks and marked with
``@hookimpl``. Install it as a distribution declaring the ``scrm`` entry-point group and the
server loads it at start-up::

    [project.entry-points.scrm]
    line = "scrm_line.plugin"

Hooks are called synchronously by pluggy. Observer hooks may return an awaitable (define
them ``async def``): the server awaits it. Only ``scrm_analyze_text`` is ``firstresult``:
the first plugin that answers wins, and the built-in analyzer answers last.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from socialcrm.plugins.channel import Channel
    from socialcrm.plugins.models import (
        CustomerChange,
        InboundEvent,
        OutboundMessage,
        StoredInteraction,
        TextAnalysis,
    )

PROJECT_NAME = "scrm"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def scrm_channels() -> list[Channel]:
    """Return the channels this plugin provides (instances of ``Channel`` subclasses).

    Called once at start-up; two channels with the same ``name`` stop the server.
    """


@hookspec
def scrm_passive_reply(
    interaction: StoredInteraction, event: InboundEvent
) -> OutboundMessage | Awaitable[OutboundMessage | None] | None:
    """Answer an inbound event inline, in the webhook's response (an auto-reply).

    Called only for events whose channel allows an inline answer (``event.wants_reply``),
    after the interaction is stored and before the platform's deadline. The first plugin
    (in pluggy's call order) that returns a message wins; the reply is stored as an
    outbound interaction. Keep it fast: it runs while the platform waits.
    """


@hookspec
def scrm_interaction_stored(interaction: StoredInteraction) -> Awaitable[None] | None:
    """Observe an interaction that was stored (inbound, outbound or recorded by hand).

    Runs after the platform has been answered; a failure is logged and does not undo the
    interaction. Called once per stored interaction: never for a retried duplicate.
    """


@hookspec
def scrm_customer_changed(change: CustomerChange) -> Awaitable[None] | None:
    """Observe a customer that was created, updated, merged, tagged or (un)followed, or
    whose lifecycle stage moved (change ``stage``)."""


@hookspec(firstresult=True)
def scrm_analyze_text(
    text: str, channel: str, language_hint: str | None
) -> TextAnalysis | Awaitable[TextAnalysis | None] | None:
    """Analyze the text of an interaction: language, sentiment, complaint, keywords.

    Called for every stored interaction that has text, on the ingest path, and by ``scrm
    analyze``. The first plugin that returns a ``TextAnalysis`` wins; return None to leave
    the text to the next plugin. socialcrm's built-in analyzer runs last (``trylast``), so
    a partner's better model replaces it just by being installed. ``language_hint`` is the
    customer's known language, if any. Runs on the ingest path: keep it fast (the built-in
    analyzer takes well under a millisecond for a short text), or return an awaitable.
    Never raise for odd input (empty, binary, emoji only): answer a neutral analysis.
    """
