"""The benchmarks measure what a user gets: the whole dashboard, every tile of it."""

from __future__ import annotations

import re

from bench._common import ROOT
from bench.pages import dashboard_ms, dashboard_requests
from inventory.extensions import TILES


def test_the_load_test_requests_every_dashboard_tile():
    script = (ROOT / "bench" / "load_paths.lua").read_text()
    requested = set(re.findall(r'"/dashboard/tiles/([a-z_]+)/"', script))
    assert requested == set(TILES)
    assert '"/dashboard/freshness/"' in script
    assert '"/",' in script  # the page itself


def test_the_dashboard_figure_is_the_page_plus_every_tile():
    figures = {"dashboard_page": 20.0, "freshness": 2.0, "list_htmx": 50.0, "billing_page": 90.0}
    figures |= {f"tile_{name}": 3.0 for name in TILES}
    assert set(dashboard_requests(figures)) == {"dashboard_page", "freshness"} | {
        f"tile_{name}" for name in TILES
    }
    assert dashboard_ms(figures) == 22.0 + 3.0 * len(TILES)  # not the slowest one alone
