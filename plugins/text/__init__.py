"""socialcrm's built-in text analyzer: the language, sentiment, complaint flag and keywords of
an interaction's text, written against the public plugin contract only.

It answers ``scrm_analyze_text`` last (``trylast``), so a partner's analyzer that is
installed answers first. It runs in process on the CPU from what ships with the package:
jieba's dictionary for Chinese words, the Chinese sentiment model in ``sentiment_zh.json.gz``
(rebuilt by ``scripts/build_text_model.py``), VADER's lexicon for English and py3langid's
model for telling Latin-script languages apart.
"""
