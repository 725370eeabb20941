"""The complaint flag: the customer complains, which is more than being negative.

A text is a complaint when it has a complaint cue (a refund, a return, something broken,
late or missing, service that does not answer, the word "complaint" itself …) and its
sentiment is negative. "Sad the store is closing" is negative without a cue; "got my refund
within two days, thanks" has a cue but is positive: neither is a complaint.
"""

from __future__ import annotations

import re

NEGATIVE = -0.05
"""A complaint's sentiment is below this."""

# Chinese cues match anywhere in the text: they are words of two or more characters.
_ZH_CUES = (
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

# English cues match whole words, in lower case.
_EN_CUES = (
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

_ZH = re.compile("|".join(re.escape(cue) for cue in _ZH_CUES))
_EN = re.compile(r"\b(?:" + "|".join(_EN_CUES) + r")\b")


def complaint_cues(text: str, language: str) -> list[str]:
    """The complaint cues in ``text`` (normalized, lower case) for its language."""
    if language == "zh":
        return _ZH.findall(text)
    if language == "en":
        return _EN.findall(text)
    return []


def is_complaint(text: str, language: str, sentiment: float) -> bool:
    """Whether ``text`` complains: a complaint cue and a negative sentiment."""
    return sentiment < NEGATIVE and bool(complaint_cues(text, language))
