"""``analyze_text`` asks the ``scrm_analyze_text`` hook: a partner's analyzer answers first,
one that answers None passes, and one that fails leaves the text to the built-in analyzer."""

from __future__ import annotations

import logging
import math
import types
from typing import Any

import pytest

from socialcrm.plugins import TextAnalysis, hookimpl
from socialcrm.plugins.manager import BUILTIN_PLUGINS, PluginManager
from socialcrm.plugins.text.model import load_model
from socialcrm.server.analysis import MAX_CHARS, MAX_KEYWORDS, analyze_text, warm_up

TEXT = "质量太差了，我要投诉"


def partner(answer: Any = None, *, fails: bool = False, asynchronous: bool = False) -> Any:
    """A partner plugin module whose analyzer answers ``answer`` (or raises) and records what
    it was asked."""
    module = types.ModuleType("scrm_partner_analyzer")
    module.calls = []  # type: ignore[attr-defined]

    def answer_for(text: str, channel: str, language_hint: str | None) -> Any:
        module.calls.append((text, channel, language_hint))  # type: ignore[attr-defined]
        if fails:
            raise RuntimeError("the partner's model is down")
        return answer

    if asynchronous:

        @hookimpl
        async def scrm_analyze_text(text: str, channel: str, language_hint: str | None) -> Any:
            return answer_for(text, channel, language_hint)

    else:

        @hookimpl
        def scrm_analyze_text(text: str, channel: str, language_hint: str | None) -> Any:
            return answer_for(text, channel, language_hint)

    module.scrm_analyze_text = scrm_analyze_text  # type: ignore[attr-defined]
    return module


def manager_with(*partners: Any) -> PluginManager:
    manager = PluginManager(load_entrypoints=False)
    for number, plugin in enumerate(partners):
        manager.register(plugin, name=f"partner-{number}")
    return manager


PARTNER_ANSWER = TextAnalysis(language="zh", sentiment=-0.25, is_complaint=True, keywords=("投诉",))


def test_the_hook_is_firstresult_and_the_builtin_analyzer_is_registered() -> None:
    manager = PluginManager(load_entrypoints=False)
    hook = manager.hook.scrm_analyze_text
    assert hook.spec.opts["firstresult"]
    [builtin] = hook.get_hookimpls()
    assert builtin.plugin_name == "socialcrm.plugins.text.plugin"
    assert builtin.plugin_name in BUILTIN_PLUGINS
    assert builtin.trylast
    [info] = [info for info in manager.plugins() if info.name == builtin.plugin_name]
    assert info.builtin and info.hooks == ("scrm_analyze_text",)


async def test_a_partner_answers_before_the_builtin_analyzer() -> None:
    plugin = partner(PARTNER_ANSWER)
    manager = manager_with(plugin)
    # Straight through pluggy, as any caller of the hook sees it.
    assert manager.hook.scrm_analyze_text(text=TEXT, channel="wechat", language_hint="zh") == (
        PARTNER_ANSWER
    )
    result = await analyze_text(manager, TEXT, channel="wechat", language_hint="zh")
    assert result == PARTNER_ANSWER
    assert plugin.calls[-1] == (TEXT, "wechat", "zh")


async def test_an_async_partner_is_awaited() -> None:
    manager = manager_with(partner(PARTNER_ANSWER, asynchronous=True))
    assert await analyze_text(manager, TEXT, channel="weibo") == PARTNER_ANSWER


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_a_partner_answering_none_passes_the_text_on(asynchronous: bool) -> None:
    plugin = partner(None, asynchronous=asynchronous)
    result = await analyze_text(manager_with(plugin), TEXT, channel="wechat")
    assert plugin.calls == [(TEXT, "wechat", None)]
    assert result is not None
    assert result.language == "zh"
    assert result.sentiment < 0
    assert result.is_complaint


async def test_the_first_partner_that_answers_wins() -> None:
    silent = partner(None)
    other = TextAnalysis(language="en", sentiment=0.5)
    manager = manager_with(partner(other), silent)  # registered last: asked first
    assert await analyze_text(manager, TEXT, channel="wechat") == other
    assert silent.calls


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_a_failing_partner_falls_back_to_the_builtin_analyzer(
    asynchronous: bool, caplog: pytest.LogCaptureFixture
) -> None:
    manager = manager_with(partner(fails=True, asynchronous=asynchronous))
    with caplog.at_level(logging.ERROR, logger="socialcrm.server.analysis"):
        result = await analyze_text(manager, TEXT, channel="wechat")
    assert result is not None
    assert result.language == "zh"
    assert result.is_complaint
    [record] = caplog.records
    assert "text analyzer failed" in record.getMessage()
    assert record.exc_info is not None and "model is down" in str(record.exc_info[1])


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        ({"sentiment": 1}, "answered dict, not a TextAnalysis"),
        (TextAnalysis(language="zh", sentiment="high"), "could not convert"),  # type: ignore[arg-type]
    ],
)
async def test_a_partner_answering_something_else_falls_back(
    answer: Any, complaint: str, caplog: pytest.LogCaptureFixture
) -> None:
    manager = manager_with(partner(answer))
    with caplog.at_level(logging.ERROR, logger="socialcrm.server.analysis"):
        result = await analyze_text(manager, TEXT, channel="wechat")
    assert result is not None and result.language == "zh" and result.is_complaint
    assert complaint in caplog.text


async def test_a_partner_answer_is_tidied() -> None:
    wild = TextAnalysis(
        language="ZH-Hant-TW",
        sentiment=7.5,
        is_complaint=True,
        keywords=(" 投诉 ", "投诉", "", *(f"词{i}" for i in range(20)), "长" * 200),
    )
    result = await analyze_text(manager_with(partner(wild)), TEXT, channel="wechat")
    assert result is not None
    assert result.language == "zh"
    assert result.sentiment == 1.0
    assert result.keywords[0] == "投诉"
    assert len(result.keywords) == MAX_KEYWORDS
    assert len(set(result.keywords)) == MAX_KEYWORDS

    for sentiment, clamped in ((-3.0, -1.0), (math.nan, 0.0)):
        odd = TextAnalysis(language="", sentiment=sentiment)
        result = await analyze_text(manager_with(partner(odd)), TEXT, channel="wechat")
        assert result == TextAnalysis(language="und", sentiment=clamped)


async def test_a_partner_gets_the_capped_cleaned_text() -> None:
    plugin = partner(PARTNER_ANSWER)
    await analyze_text(manager_with(plugin), "好\x00" + "评" * 5000, channel="email")
    [(text, channel, hint)] = plugin.calls
    assert text == "好" + "评" * (MAX_CHARS - 2)
    assert (channel, hint) == ("email", None)


async def test_no_text_never_reaches_a_partner() -> None:
    plugin = partner(PARTNER_ANSWER)
    for text in (None, "", " \n"):
        assert await analyze_text(manager_with(plugin), text, channel="wechat") is None
    assert plugin.calls == []


async def test_without_any_analyzer_nothing_is_analyzed() -> None:
    manager = PluginManager(load_entrypoints=False, builtins=())
    assert await analyze_text(manager, TEXT, channel="wechat") is None
    failing = PluginManager(load_entrypoints=False, builtins=())
    failing.register(partner(fails=True), name="partner")
    assert await analyze_text(failing, TEXT, channel="wechat") is None


def test_warming_up_loads_the_builtin_analyzer_and_asks_no_partner() -> None:
    plugin = partner(PARTNER_ANSWER)
    warm_up(manager_with(plugin))
    assert plugin.calls == []
    assert load_model.cache_info().currsize == 1
