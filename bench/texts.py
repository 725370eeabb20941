"""Short customer texts in Chinese and English, the kind that reach a brand's accounts.

Each template carries what a text analyzer should find in it (language, a sentiment from -1
to 1, whether it is a complaint, keywords), so seeded rows can hold the analysis columns the
live path would have written, and the ingest benchmark sends texts of every shade. Slots
(product, order number, city, days …) are filled at random, so the texts are not all alike.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

import numpy as np

PRODUCTS_ZH: tuple[str, ...] = (
    "保温杯",
    "蓝牙耳机",
    "面霜",
    "奶粉",
    "跑鞋",
    "咖啡豆",
    "扫地机器人",
    "口红",
    "行李箱",
    "儿童座椅",
)
PRODUCTS_EN: tuple[str, ...] = (
    "travel mug",
    "earbuds",
    "face cream",
    "running shoes",
    "coffee beans",
    "robot vacuum",
    "lipstick",
    "suitcase",
    "car seat",
    "smart watch",
)
CITIES_ZH: tuple[str, ...] = ("北京", "上海", "深圳", "杭州", "成都", "武汉", "南京", "西安")
CITIES_EN: tuple[str, ...] = ("Shanghai", "Beijing", "Shenzhen", "Hong Kong", "Singapore")
EMOJI: tuple[str, ...] = ("👍", "😊", "❤️", "🙏", "😡", "😭", "🎉", "🤔", "")

# (template, language, sentiment, complaint). Slots: {p} product, {n} order number,
# {c} city, {d} days, {e} emoji.
TEMPLATES: tuple[tuple[str, str, float, bool], ...] = (
    ("{p}真的很好用，已经回购第{d}次了{e}", "zh", 0.8, False),
    ("收到{p}了，包装很用心，谢谢客服{e}", "zh", 0.7, False),
    ("推荐给闺蜜了，她也说{p}不错", "zh", 0.6, False),
    ("直播间抢到的{p}，性价比很高{e}", "zh", 0.6, False),
    ("请问{p}有没有{c}的线下门店？", "zh", 0.0, False),
    ("订单{n}什么时候发货？", "zh", 0.0, False),
    ("{p}怎么开发票？", "zh", 0.0, False),
    ("会员积分可以换{p}吗", "zh", 0.1, False),
    ("转发抽奖，希望中一个{p}{e}", "zh", 0.3, False),
    ("{p}颜色和图片有点不一样", "zh", -0.3, False),
    ("等了{d}天还没发货，订单{n}到底怎么回事", "zh", -0.7, True),
    ("{p}用了两天就坏了，要求退货！{e}", "zh", -0.9, True),
    ("客服一直不回复，第{d}次催了，太失望了", "zh", -0.8, True),
    ("快递把{p}摔坏了，订单{n}请尽快处理", "zh", -0.7, True),
    ("退款{d}天了还没到账，再不处理就投诉到消协", "zh", -0.9, True),
    ("{p}一般般吧，没有宣传的那么好", "zh", -0.4, False),
    ("Love my new {p}, best purchase this year {e}", "en", 0.9, False),
    ("The {p} arrived early, great service!", "en", 0.8, False),
    ("Told my friends in {c} about your {p}", "en", 0.6, False),
    ("Is order {n} shipped yet?", "en", 0.0, False),
    ("Do you ship the {p} to {c}?", "en", 0.0, False),
    ("How do I reset my {p}?", "en", -0.1, False),
    ("Entered the giveaway, fingers crossed for the {p} {e}", "en", 0.4, False),
    ("The {p} is okay, a bit pricey", "en", -0.2, False),
    ("Still waiting for order {n} after {d} days, this is ridiculous", "en", -0.8, True),
    ("My {p} broke after a week, I want a refund {e}", "en", -0.9, True),
    ("Nobody answers the support line, third time asking about order {n}", "en", -0.8, True),
    ("Wrong item delivered, order {n}, please fix", "en", -0.6, True),
    ("{e}🙏", "und", 0.1, False),
)
BRAND_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("您好，订单{n}已发货，请注意查收", "zh"),
    ("感谢支持！新品{p}本周末直播首发{e}", "zh"),
    ("非常抱歉给您带来不便，已为订单{n}安排补发", "zh"),
    ("会员日：{p}满减活动进行中", "zh"),
    ("Hi! Order {n} is on its way.", "en"),
    ("Sorry about that, a replacement {p} ships today.", "en"),
    ("New: the {p} is back in stock {e}", "en"),
)


@dataclass(frozen=True, slots=True)
class Text:
    """One customer text and what an analyzer should say about it."""

    content: str
    language: str
    sentiment: float
    complaint: bool
    keywords: tuple[str, ...]


COMPLAINT_SHARE = 0.08
"""The share of customer texts that are complaints."""


class TextGenerator:
    """Draws customer and brand texts from the templates, reproducibly for a seed."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._complaints = [t for t in TEMPLATES if t[3]]
        self._others = [t for t in TEMPLATES if not t[3]]

    def customer_text(self) -> Text:
        """A text a customer sends: a question, praise, a complaint … in zh or en."""
        group = self._complaints if self._rng.random() < COMPLAINT_SHARE else self._others
        template, language, sentiment, complaint = self._rng.choice(group)
        content, product = self._fill(template, language)
        noisy = max(-1.0, min(1.0, sentiment + self._rng.uniform(-0.15, 0.15)))
        keywords = (product,) if "{p}" in template else ()
        return Text(content, language, round(noisy, 3), complaint, keywords)

    def brand_text(self) -> tuple[str, str]:
        """A message the brand sends, and its language."""
        template, language = self._rng.choice(BRAND_TEMPLATES)
        return self._fill(template, language)[0], language

    def _fill(self, template: str, language: str) -> tuple[str, str]:
        rng = self._rng
        english = language == "en"
        product = rng.choice(PRODUCTS_EN if english else PRODUCTS_ZH)
        content = template.format(
            p=product,
            n=rng.randrange(10**8, 10**9),
            c=rng.choice(CITIES_EN if english else CITIES_ZH),
            d=rng.randrange(2, 15),
            e=rng.choice(EMOJI),
        )
        return content, product


@dataclass(frozen=True, slots=True)
class TextPool:
    """Many drawn texts as arrays, for seeding: index them with numpy draws.

    ``keywords`` holds each text's keywords as a JSON array, ready for COPY.
    """

    content: np.ndarray
    language: np.ndarray
    sentiment: np.ndarray
    complaint: np.ndarray
    keywords: np.ndarray
    brand_content: np.ndarray
    brand_language: np.ndarray

    def __len__(self) -> int:
        return len(self.content)


def text_pool(seed: int, size: int = 50_000, brand_size: int = 5_000) -> TextPool:
    """``size`` customer texts and ``brand_size`` brand texts drawn with ``seed``."""
    generator = TextGenerator(seed)
    texts = [generator.customer_text() for _ in range(size)]
    brand = [generator.brand_text() for _ in range(brand_size)]
    return TextPool(
        content=np.array([t.content for t in texts], dtype=object),
        language=np.array([t.language for t in texts], dtype=object),
        sentiment=np.array([t.sentiment for t in texts], dtype=np.float64),
        complaint=np.array([t.complaint for t in texts], dtype=bool),
        keywords=np.array(
            [json.dumps(list(t.keywords), ensure_ascii=False) for t in texts], dtype=object
        ),
        brand_content=np.array([text for text, _ in brand], dtype=object),
        brand_language=np.array([language for _, language in brand], dtype=object),
    )
