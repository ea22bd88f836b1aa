"""The benchmark (bench/, `make bench`) runs end to end: `python -m bench --quick` seeds (or reuses) two small
cached databases, serves them with `forum serve --workers 2` beside the ceiling app, loads every case with wrk
for 1 s, creates posts, withdraws consent, and writes the JSON and Markdown reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
PAGES = ["topic_anon", "topic_anon_304", "topic_signed", "category", "home", "big_first", "big_deep", "search"]
FINDABLE = ["sitemap", "sitemap_page", "feed", "category_feed"]  # issue 26
CEILING_OF = ["topic_anon", "topic_signed", "category", "home"]


def test_quick_benchmark_measures_every_case_and_reports_every_target(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--results", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "| target | measured | goal | met |" in done.stdout
    data = json.loads((tmp_path / "latest.json").read_text())
    assert (tmp_path / "latest.md").read_text() in done.stdout
    assert list(data["sizes"]) == ["1k", "10k"]
    for size, result in data["sizes"].items():
        cases = result["cases"]
        for page in PAGES + [f"ceiling_{p}" for p in CEILING_OF] + [f"reference_{p}" for p in PAGES]:
            assert cases[page]["requests"] > 0 and cases[page]["rps"] > 0, (size, page)
            assert cases[page]["non_2xx"] == 0 and cases[page]["socket_errors"] == 0, (size, page, cases[page])
        for page in PAGES + FINDABLE:
            assert cases[page]["queries"] >= 1, (size, page)
            assert cases[page]["requests"] > 0 and cases[page]["non_2xx"] == 0, (size, page)
        assert cases["create_post"]["posts_created"] > 0 and cases["create_post"]["non_2xx"] == 0
        assert len(cases["_rss"]) == 2 and all(w["rss_mb"] > 0 for w in cases["_rss"])
        assert result["withdrawal"]["base"]["status"] == 200, result["withdrawal"]
    assert data["sizes"]["10k"]["withdrawal"]["tenfold"]["status"] == 200
    targets = {t["name"]: t for t in data["targets"]}
    assert len(targets) == 20  # issue 7's 12, issue 20's 7 on the reference ceiling, issue 26's sitemap and feeds
    assert "% of reference" in done.stdout
    assert targets["queries per page (each size)"]["ok"] is True  # a fixed number of queries per page type
    assert not list((ROOT / "bench" / ".cache").glob("work-*"))  # working copies are removed
