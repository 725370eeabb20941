"""A partner's text analyzer, written only against the public contract.

The ``scrm analyze`` tests install it as a distribution with an ``scrm`` entry point. It
answers for its own channel only, and leaves every other text to the next analyzer.
"""

from __future__ import annotations

from socialcrm.plugins import TextAnalysis, hookimpl

CHANNEL = "moodring"


@hookimpl
def scrm_analyze_text(text: str, channel: str, language_hint: str | None) -> TextAnalysis | None:
    """Every moodring text is a happy one, in Klingon."""
    if channel != CHANNEL:
        return None
    return TextAnalysis(language="tlh", sentiment=1.0, keywords=("moodring",))
