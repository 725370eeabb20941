"""``scrm analyze``: texts on stdin, one JSON line out for each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from socialcrm.server.cli import app


def scrm_analyze(stdin: bytes | str, *args: str) -> Result:
    return CliRunner().invoke(app, ["analyze", *args], input=stdin, env={"SCRM_DEBUG": ""})


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_plain_lines() -> None:
    result = scrm_analyze("物流超快，包装很用心\n\nThe screen cracked, I want a refund.\n👍\n")
    assert result.exit_code == 0, result.output
    zh, en, emoji = lines(result)
    assert set(zh) == {"language", "sentiment", "complaint", "keywords"}
    assert zh["language"] == "zh" and zh["sentiment"] > 0 and zh["complaint"] is False
    assert "物流" in zh["keywords"]
    assert en["language"] == "en" and en["sentiment"] < 0 and en["complaint"] is True
    assert emoji == {"language": "und", "sentiment": 0.0, "complaint": False, "keywords": []}


def test_json_lines_keep_their_id() -> None:
    stdin = "\n".join(
        json.dumps(line, ensure_ascii=False)
        for line in (
            {"id": 41, "text": "我要投诉！快递三天了还没到", "channel": "weibo"},
            {"id": "m-2", "text": "東京駅", "language": "ja"},
            {"text": "Love it"},
            {"id": None, "text": "  "},
        )
    )
    result = scrm_analyze(stdin)
    assert result.exit_code == 0, result.output
    complaint, japanese, love, blank = lines(result)
    assert complaint["id"] == 41 and complaint["complaint"] is True
    assert japanese["id"] == "m-2" and japanese["language"] == "ja"
    assert "id" not in love and love["sentiment"] > 0
    assert blank == {
        "id": None,
        "language": None,
        "sentiment": None,
        "complaint": None,
        "keywords": [],
    }


def test_bad_lines_are_reported_and_the_rest_analyzed() -> None:
    stdin = b"\n".join(
        [
            b'{"id": 1, "text": "ok"}',
            b'{"id": 2, "text": ',
            b'{"id": 3}',
            b'{"text": ["a list"]}',
            b"\xff\xfe",
            b"fine, thanks",
        ]
    )
    result = scrm_analyze(stdin)
    assert result.exit_code == 1
    # Line 6 is plain text: only lines that start with "{" are JSON.
    assert [line.get("id") for line in lines(result)] == [1, None]
    errors = result.stderr.splitlines()
    assert len(errors) == 4
    assert errors[0].startswith("error: line 2: not valid JSON")
    assert errors[1] == 'error: line 3: a JSON line must be an object with a "text" string'
    assert errors[2] == 'error: line 4: a JSON line must be an object with a "text" string'
    assert errors[3].startswith("error: line 5: not UTF-8")


def test_an_installed_partner_analyzer_is_used(moodring_site: Path) -> None:
    stdin = (
        '{"id": 1, "text": "质量太差了", "channel": "moodring"}\n{"id": 2, "text": "质量太差了"}\n'
    )
    result = scrm_analyze(stdin)
    assert result.exit_code == 0, result.output
    partner, builtin = lines(result)
    assert partner == {
        "id": 1,
        "language": "tlh",
        "sentiment": 1.0,
        "complaint": False,
        "keywords": ["moodring"],
    }
    assert builtin["language"] == "zh" and builtin["sentiment"] < 0
    # And on the command line: --channel for every plain line.
    result = scrm_analyze("质量太差了\n", "--channel", "moodring")
    assert lines(result)[0]["language"] == "tlh"
