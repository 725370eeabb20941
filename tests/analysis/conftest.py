"""Fixtures of the text analysis tests: the partner analyzer ``moodring``, installed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

MOODRING_SOURCE = Path(__file__).parent / "scrm_moodring.py"


@pytest.fixture
def moodring_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A site directory holding the partner analyzer ``scrm_moodring`` as an installed
    distribution with an ``scrm`` entry point, on ``sys.path`` for this test only."""
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(MOODRING_SOURCE, site / "scrm_moodring.py")
    dist_info = site / "scrm_moodring-1.0.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: scrm-moodring\nVersion: 1.0.0\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        "[scrm]\nmoodring = scrm_moodring\n", encoding="utf-8"
    )
    (dist_info / "RECORD").write_text("", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    return site
