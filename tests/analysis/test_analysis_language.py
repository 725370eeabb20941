"""The built-in analyzer tells languages by script, and Latin-script ones with py3langid."""

from __future__ import annotations

import random
from typing import Any

import pytest

from socialcrm.plugins import TextAnalysis
from socialcrm.plugins.manager import PluginManager
from socialcrm.server.analysis import MAX_CHARS, NEUTRAL, analyze_text


@pytest.fixture(scope="module")
def plugins() -> PluginManager:
    """The built-in plugins only."""
    return PluginManager(load_entrypoints=False)


async def analyze(plugins: PluginManager, text: str | None, hint: str | None = None) -> Any:
    return await analyze_text(plugins, text, channel="wechat", language_hint=hint)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("物流很快，包装也很好", "zh"),
        ("這家店的服務態度很好", "zh"),
        ("The delivery was quick and the box was fine.", "en"),
        ("ok", "en"),
        ("配送がとても早くて、ありがとうございました", "ja"),
        ("배송이 빨라서 좋았어요", "ko"),
        ("Доставка была быстрой, спасибо", "ru"),
        ("Доставка була швидкою, дякую вам за все", "uk"),
        ("التوصيل كان سريعا شكرا لكم", "ar"),
        ("จัดส่งเร็วมาก ขอบคุณครับ", "th"),
        ("Η παράδοση ήταν γρήγορη", "el"),
        ("המשלוח הגיע מהר מאוד", "he"),
        ("डिलीवरी बहुत तेज़ थी", "hi"),
        ("La livraison était rapide, merci beaucoup pour tout", "fr"),
        ("Die Lieferung war schnell, vielen Dank für alles", "de"),
        ("El envío fue muy rápido, muchas gracias por todo", "es"),
        ("这个iPhone的屏幕太差了", "zh"),
        ("我刚买的MacBook Pro用了一周就坏了，apple store也不给换", "zh"),
    ],
)
async def test_languages(plugins: PluginManager, text: str, language: str) -> None:
    result = await analyze(plugins, text)
    assert result is not None
    assert result.language == language


async def test_a_hint_decides_between_languages_of_one_script(plugins: PluginManager) -> None:
    # Kanji alone could be Chinese or Japanese.
    assert (await analyze(plugins, "東京駅", hint="ja")).language == "ja"
    assert (await analyze(plugins, "東京駅")).language == "zh"
    # A hint in another script than the text's is ignored.
    assert (await analyze(plugins, "物流很快", hint="en_US")).language == "zh"


async def test_what_the_text_says_beats_the_hint(plugins: PluginManager) -> None:
    # A German customer in Shanghai writes in English: analyzed as English, with sentiment.
    english = await analyze(plugins, "Loved the oat latte this morning!", hint="de")
    assert english.language == "en" and english.sentiment > 0.3
    assert (await analyze(plugins, "Ich liebe diesen Kaffee sehr", hint="en")).language == "de"
    # Too short for the identifier to be sure: the hint decides.
    assert (await analyze(plugins, "Merci!", hint="fr")).language == "fr"


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t "])
async def test_no_text_is_not_analyzed(plugins: PluginManager, text: str | None) -> None:
    assert await analyze(plugins, text) is None


@pytest.mark.parametrize("text", ["😀😀😀", "👍", "🎉🎉 🎂", "12345", "!!!???", "😡 😡"])
async def test_text_without_letters_is_undetermined_and_neutral(
    plugins: PluginManager, text: str
) -> None:
    result = await analyze(plugins, text)
    assert result == TextAnalysis(language="und", sentiment=0.0, is_complaint=False, keywords=())


async def test_binary_is_neutral(plugins: PluginManager) -> None:
    noise = random.Random(7).randbytes(4096)
    for decoded in (noise.decode("utf-8", "replace"), noise.decode("latin-1")):
        result = await analyze(plugins, decoded)
        assert result is not None
        assert result.language == "und"
        assert result.sentiment == 0.0
        assert not result.is_complaint
        assert result.keywords == ()
    assert await analyze(plugins, "\x00\x01\x02\x03") == NEUTRAL


async def test_control_characters_in_text_are_dropped(plugins: PluginManager) -> None:
    result = await analyze(plugins, "这件衣服质量很好\x00，颜色也正\x07，非常推荐\ufffd")
    assert result is not None
    assert result.language == "zh"
    assert result.sentiment > 0


async def test_a_megabyte_of_text_is_analyzed_by_its_beginning(plugins: PluginManager) -> None:
    opening = "客服态度很差，我要投诉！"
    text = opening + "的" * (MAX_CHARS - len(opening)) + "非常满意，好评" * 150_000
    assert len(text.encode()) > 1_000_000
    result = await analyze(plugins, text)
    assert result is not None
    assert result.language == "zh"
    # Only the beginning counts: the praise after the first MAX_CHARS characters does not.
    assert "好评" not in result.keywords
    assert "投诉" in result.keywords
