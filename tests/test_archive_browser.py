"""The archive in a real browser, opened from disk: phone and desktop widths.

Debian's chromium through playwright (as tests/test_render_browser.py drives it). Screenshots
go to var/screenshots/archive-*.png for a human to look at.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

try:
    from test_archive import digest, names_in_state, two_runs
    from test_render_browser import SHOTS, browser  # noqa: F401 - the shared fixture
except ImportError:  # tests/ made a package
    from tests.test_archive import digest, names_in_state, two_runs
    from tests.test_render_browser import SHOTS, browser  # noqa: F401

LAYOUT = """() => ({
  overflow: document.scrollingElement.scrollWidth - window.innerWidth,
  links: [...document.querySelectorAll('a')].map(a => a.getAttribute('href')),
  narrowest: Math.min(...[...document.querySelectorAll('h1, h2')].map(
      h => h.getBoundingClientRect().width)),
})"""


SUBSCRIBE = """() => [...document.querySelectorAll('a.subscribe')].filter(
  a => a.getAttribute('href') === 'https://news.example.com/subscribe').map(a => {
    const r = a.getBoundingClientRect(); return [r.left, r.right, r.top + window.scrollY]; })"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("archive")
    config, reports = two_runs(tmp_path)
    with config.open("a") as f:
        f.write("web:\n  url: https://news.example.com/\n")
    result = digest("--config", config, "archive")
    assert result.returncode == 0, result.stderr
    return tmp_path / "site", names_in_state(tmp_path / "state.sqlite3"), reports


@pytest.mark.parametrize("width", [375, 1024])
def test_index_and_issue_page_read_well_and_link_each_other(browser, site, width):  # noqa: F811
    folder, names, reports = site
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": 800})
    try:
        page.goto((folder / "index.html").as_uri(), wait_until="load")
        layout = page.evaluate(LAYOUT)
        assert layout["overflow"] <= 0, layout  # nothing wider than the screen
        assert f"issues/{names[1]}.html" in layout["links"]
        page.screenshot(path=str(SHOTS / f"archive-index-{width}.png"), full_page=True)

        # The newest issue's page, reached the way a reader would: by its link.
        page.click(f"a[href='issues/{names[1]}.html']")
        page.wait_for_load_state("load")
        assert page.url.endswith(f"/issues/{names[1]}.html")
        body = page.inner_text("body")
        for chosen in reports[1]["chosen"]:
            assert chosen["title"] in body
        assert "Unsubscribe" not in body and "You receive this" not in body
        layout = page.evaluate(LAYOUT)
        assert layout["overflow"] <= 0, layout
        page.screenshot(path=str(SHOTS / f"archive-issue-{width}.png"), full_page=True)
        page.screenshot(path=str(SHOTS / f"archive-issue-top-{width}.png"))
        # a web visitor is offered a subscription, at the top and where the e-mail's
        # "you receive this because you subscribed" was; both on screen, in the page's width
        links = page.evaluate(SUBSCRIBE)
        assert len(links) == 2 and all(0 <= x and right <= width for x, right, _ in links), links
        assert links[0][2] < 100  # the bar at the very top
        issue_no = page.inner_text(".archive-bar .issue-no")
        assert issue_no.strip(" ·") == "No. 2"

        page.click("a[href='../index.html']")  # and back
        page.wait_for_load_state("load")
        assert page.url.endswith("/index.html")
    finally:
        page.close()
