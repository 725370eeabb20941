"""Sentiment, the complaint flag and keywords of the built-in analyzer, on clear examples."""

from __future__ import annotations

import pytest

from socialcrm.plugins import TextAnalysis
from socialcrm.plugins.manager import PluginManager
from socialcrm.server.analysis import analyze_text


@pytest.fixture(scope="module")
def plugins() -> PluginManager:
    """The built-in plugins only."""
    return PluginManager(load_entrypoints=False)


async def analyze(plugins: PluginManager, text: str) -> TextAnalysis:
    result = await analyze_text(plugins, text, channel="weibo")
    assert result is not None
    assert -1.0 <= result.sentiment <= 1.0
    return result


@pytest.mark.parametrize(
    "text",
    [
        "物流超快，昨天下单今天就到了",
        "这款手机用着很流畅，非常满意",
        "质量很好，下次还来买",
        "Love this phone! Battery lasts all day.",
        "Great customer service, they sorted it out in minutes.",
    ],
)
async def test_positive(plugins: PluginManager, text: str) -> None:
    assert (await analyze(plugins, text)).sentiment > 0.3


@pytest.mark.parametrize(
    "text",
    [
        "质量太差了，用了两天就坏了",
        "客服态度恶劣，再也不买了",
        "太失望了，完全是浪费钱",
        "Worst customer service ever. Nobody answers the phone.",
        "Terrible quality, it broke after one day.",
    ],
)
async def test_negative(plugins: PluginManager, text: str) -> None:
    assert (await analyze(plugins, text)).sentiment < -0.3


@pytest.mark.parametrize(
    "text",
    [
        "我要投诉！快递三天了还没到",
        "收到的杯子是碎的，要求退货",
        "客服一直不回复，衣服洗了一次就掉色",
        "The screen cracked on day one. I want a refund.",
        "My order still hasn't arrived after two weeks.",
        "I was charged twice for the same order!",
    ],
)
async def test_complaints(plugins: PluginManager, text: str) -> None:
    result = await analyze(plugins, text)
    assert result.is_complaint
    assert result.sentiment < 0


@pytest.mark.parametrize(
    "text",
    [
        # Negative without a complaint cue.
        "今天心情不好，下雨天堵车",
        "So tired today. Mondays are the worst.",
        # A complaint cue in a happy text.
        "退款很快就到账了，客服也很礼貌，好评",
        "Got my refund within two days, thanks for making it right!",
        # Neither.
        "物流超快，包装很用心",
        "Fast shipping and the shoes fit perfectly.",
    ],
)
async def test_not_complaints(plugins: PluginManager, text: str) -> None:
    assert not (await analyze(plugins, text)).is_complaint


async def test_other_languages_are_neutral(plugins: PluginManager) -> None:
    for text in ("配送が遅すぎて最悪です", "Доставка ужасная, верните деньги"):
        result = await analyze(plugins, text)
        assert result.sentiment == 0.0
        assert not result.is_complaint


async def test_chinese_keywords_are_words(plugins: PluginManager) -> None:
    text = "这款洗发水的味道很好闻，但是快递包装破损了，客服处理得很及时，我们下次还会购买"
    keywords = (await analyze(plugins, text)).keywords
    assert 3 <= len(keywords) <= 8
    assert all(len(word) >= 2 and word in text for word in keywords)
    # Segmented words, not character n-grams; no stopwords.
    assert "洗发水" in keywords
    assert "快递" in keywords
    assert not {"我们", "但是", "这款"} & set(keywords)


async def test_english_keywords(plugins: PluginManager) -> None:
    result = await analyze(plugins, "The charger stopped working, the charger cable is frayed")
    assert result.keywords[0] == "charger"
    assert "the" not in result.keywords
    assert set(result.keywords) <= {"charger", "stopped", "working", "cable", "frayed"}
