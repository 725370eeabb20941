"""The complaint flag: the customer complains, which is more than being negative.

A text is a complaint when it names a problem (a refund, a return, something broken, late
or missing, service that does not answer, the word "complaint" itself …) and its sentiment
is negative, or when it names what customers complain about (the product, its quality, the
order, the delivery, the service, the price …) and its sentiment is clearly negative: a
question about the delivery is not a complaint. "Mondays are the worst" is negative about
nothing a brand sells; "got my refund within two days, thanks" names a problem but is
positive: neither is a complaint.
"""

from __future__ import annotations

import re

NEGATIVE = -0.05
"""A text naming a problem complains when its sentiment is below this."""
CLEARLY_NEGATIVE = -0.5
"""A text naming only what it is about complains when its sentiment is below this."""

# Chinese cues match anywhere in the text: words of two or more characters, and a few
# single characters that are words of their own (钱, 买).
_ZH_PROBLEMS = (
    "投诉", "举报", "12315", "差评", "维权", "消协", "工商局", "曝光", "骗子", "欺诈", "欺骗",
    "虚假", "假货", "坑人", "上当", "忽悠", "退款", "退货", "退钱", "换货", "赔偿", "索赔",
    "坏了", "破损", "损坏", "碎了", "故障", "质量问题", "有问题", "不能用", "用不了", "没法用",
    "漏水", "漏电", "过期", "变质", "发霉", "烂了", "不新鲜", "异味", "掉色", "褪色", "起球",
    "开线", "脱线", "少发", "漏发", "发错", "错发", "没收到", "未收到", "还没到", "没到货",
    "迟迟", "延迟", "延误", "太慢", "很慢", "慢死", "等了", "不发货", "客服不理", "不理人",
    "没人理", "没人管", "不回复", "不回消息", "没人回", "态度差", "态度很差", "态度恶劣",
    "不给退", "不给换", "拒绝退", "乱收费", "多收", "多扣", "扣费", "扣钱", "与描述不符",
    "货不对板", "不符",
)  # fmt: skip
_ZH_SUBJECTS = (
    "质量", "产品", "商品", "东西", "服务", "客服", "售后", "快递", "物流", "发货", "包裹", "包装",
    "卖家", "商家", "店家", "店员", "门店", "价格", "价钱", "钱", "订单", "体验", "会员",
    "酒店", "房间", "外卖", "味道", "师傅", "安装", "维修", "买",
)  # fmt: skip

# English cues match whole words, in lower case.
_EN_PROBLEMS = (
    r"refunds?", r"refunded", r"money back", r"return(?:ed|ing)?", r"exchange", r"replace(?:ment)?",
    r"broken?", r"broke", r"damaged?", r"defective", r"faulty", r"cracked", r"shattered",
    r"torn", r"leak(?:s|ing)?", r"expired", r"rotten", r"stale", r"moldy", r"mouldy",
    r"late", r"delay(?:s|ed)?", r"never (?:came|arrived|received|showed up)",
    r"(?:hasn't|has not|haven't|have not|didn't|did not|not|never) (?:arrived|received|come)",
    r"still waiting", r"missing", r"wrong", r"not as described", r"fake",
    r"lost (?:my|our|the) (?:package|parcel|order|luggage|bag|booking|reservation)",
    r"counterfeit", r"scam", r"fraud", r"rip-?off", r"false advertising",
    r"(?:over|double |twice )charged", r"charged (?:twice|again|me)", r"charging me",
    r"hidden fees?", r"cancel(?:l?ed|ling)?", r"complain(?:t|ts|ed|ing)?", r"manager",
    r"compensat(?:e|ion)", r"unacceptable", r"rude", r"ignor(?:ed|ing|es)",
    r"no (?:reply|response|answer)",
    r"not (?:responding|answering)", r"on hold", r"hung up", r"unhelpful", r"useless",
    r"(?:doesn't|does not|don't|didn't|won't|will not|isn't|not) (?:work|working|charge|turn on)",
    r"stopped (?:working|charging)", r"crash(?:es|ed|ing)?", r"overheats?", r"dirty",
    r"filthy", r"stained", r"poor quality", r"fell apart", r"came apart", r"locked",
)  # fmt: skip
_EN_SUBJECTS = (
    r"(?:customer )?service", r"support", r"staff", r"products?", r"items?", r"quality",
    r"orders?", r"delivery", r"shipping", r"packag(?:e|ing)", r"parcel", r"courier", r"seller",
    r"stores?", r"shop", r"prices?", r"money", r"app", r"website", r"account", r"bill(?:ing)?",
    r"subscription", r"booking", r"reservation", r"room", r"hotel", r"food", r"meal", r"waiter",
    r"experience", r"purchase", r"warranty", r"repair", r"installation",
)  # fmt: skip

_PROBLEMS = {
    "zh": re.compile("|".join(re.escape(cue) for cue in _ZH_PROBLEMS)),
    "en": re.compile(r"\b(?:" + "|".join(_EN_PROBLEMS) + r")\b"),
}
_SUBJECTS = {
    "zh": re.compile("|".join(re.escape(cue) for cue in _ZH_SUBJECTS)),
    "en": re.compile(r"\b(?:" + "|".join(_EN_SUBJECTS) + r")\b"),
}


def is_complaint(text: str, language: str, sentiment: float) -> bool:
    """Whether ``text`` (normalized, lower case) complains: a problem and a negative
    sentiment, or what it is about and a clearly negative sentiment."""
    if sentiment >= NEGATIVE or language not in _PROBLEMS:
        return False
    if _PROBLEMS[language].search(text):
        return True
    return sentiment < CLEARLY_NEGATIVE and _SUBJECTS[language].search(text) is not None
