"""Registers the built-in text analyzer, through the same hook a partner's analyzer uses."""

from __future__ import annotations

from socialcrm.plugins import TextAnalysis, hookimpl


@hookimpl(trylast=True)
def scrm_analyze_text(text: str, channel: str, language_hint: str | None) -> TextAnalysis:
    """Language, sentiment, complaint flag and keywords of ``text`` (any channel).

    Answers last, so that an installed partner analyzer answers first.
    """
    # Imported on first use: jieba, VADER and py3langid take about a second to load, and
    # most processes that load the plugins (the other CLI commands, tests) analyze nothing.
    from socialcrm.plugins.text.analyzer import analyze

    return analyze(text, language_hint)
