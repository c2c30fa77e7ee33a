"""Every page of `digest serve` in Debian's chromium (playwright): 375 and 1024 px, light and
dark. Plain and accessible: one h1, every field labelled, nothing wider than the screen,
buttons big enough to tap, no script; and the flow works by clicking. Screenshots go to
var/screenshots/web-*.png for a person to look at."""

from __future__ import annotations

import email

import pytest
from conftest import ROOT
from test_render_browser import browser  # noqa: F401  (the fixture)
from test_web import Server, active_reader, cli

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SHOTS = ROOT / "var" / "screenshots"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("web"))
    yield s
    s.stop()


def check(page, width: int) -> None:
    assert page.locator("h1").count() == 1
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.locator("script").count() == 0
    for field in page.locator("input:not([type=hidden])").all():
        label = page.locator(f"label[for='{field.get_attribute('id')}']")
        assert label.count() == 1, field.get_attribute("name")
    for button in page.locator("button").all():
        assert button.bounding_box()["height"] >= 44


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 1024])
def test_every_page_reads_and_works_at_phone_and_desktop_widths(browser, server, width, scheme):  # noqa: F811
    base = f"http://127.0.0.1:{server.port}"
    context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tag = f"{width}-{scheme}"
    SHOTS.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> None:
        check(page, width)
        page.screenshot(path=str(SHOTS / f"web-{name}-{tag}.png"), full_page=True)

    address = f"reader-{width}-{scheme}@example.org"
    page.goto(f"{base}/subscribe")
    shot("subscribe")
    page.fill("#email", address)
    page.fill("#name", "Ann Reader")
    page.click("button[type=submit]")
    assert "Check your inbox" in page.inner_text("h1")
    shot("check-inbox")
    [link] = server.wait_confirmations(address)
    page.goto(link)
    assert "You are subscribed" in page.inner_text("h1")
    shot("confirmed")
    token = server.token_of(address)
    page.goto(f"{base}/unsubscribe/{token}")
    shot("unsubscribe")
    page.click("text=Pause instead, or change your name")
    shot("preferences")
    page.goto(f"{base}/unsubscribe/{token}")
    page.click("button:has-text('Unsubscribe')")
    assert "You are unsubscribed" in page.inner_text("h1")
    shot("unsubscribed")
    page.goto(f"{base}/unsubscribe/not-a-token")
    shot("bad-link")
    assert [e for e in errors if "404" not in e] == []  # the CSP refused nothing
    context.close()


def test_dark_pages_are_dark_and_light_pages_light(browser, server):  # noqa: F811
    token = active_reader(server, "colours@example.org")
    colours = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme)
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{server.port}/preferences/{token}")
        colours[scheme] = page.evaluate("getComputedStyle(document.body).backgroundColor")
        context.close()
    assert colours == {"light": "rgb(238, 241, 245)", "dark": "rgb(14, 17, 22)"}


def test_a_site_named_in_its_own_script_takes_its_forms(browser, tmp_path):  # noqa: F811
    """web.url written as the operator reads it, "http://Новости.рф:PORT/": the browser sends
    the form's Origin in ASCII (xn--), which the server took for another site's, so every
    form answered "Form expired"; and List-Unsubscribe went out RFC 2047-encoded, a header no
    mail provider reads as a link."""
    server = Server(tmp_path, host="Новости.рф")
    try:
        # the browser reaches the site by its name through the server itself as its proxy
        context = browser.new_context(proxy={"server": f"http://127.0.0.1:{server.port}"})
        page = context.new_page()
        page.goto(f"http://новости.рф:{server.port}/subscribe")
        page.fill("#email", "ann@example.org")
        page.click("button[type=submit]")
        assert "Check your inbox" in page.inner_text("h1")
        [link] = server.wait_confirmations("ann@example.org")
        assert link.startswith(f"http://xn--b1amnebsh.xn--p1ai:{server.port}/confirm/")
        page.goto(link)
        assert "You are subscribed" in page.inner_text("h1")
        page.goto(
            f"http://новости.рф:{server.port}/unsubscribe/{server.token_of('ann@example.org')}"
        )
        page.click("button:has-text('Unsubscribe')")
        assert "You are unsubscribed" in page.inner_text("h1")
        context.close()
        assert cli(server.config, "run").returncode == 0  # to listed@example.com
        [sent] = (tmp_path / "outbox").glob("*listed@example.com*.eml")
        header = email.message_from_bytes(sent.read_bytes())["List-Unsubscribe"]
        assert header.startswith(f"<http://xn--b1amnebsh.xn--p1ai:{server.port}/unsubscribe/")
    finally:
        server.stop()
