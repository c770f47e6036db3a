"""The web page at ``/``: served with a strict policy, and used in a real headless Chromium.

The browser is Debian's ``chromium`` driven by Playwright (never ``playwright install``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.engine import RagEngine
from tests.live_server import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUESTION = "北京经开区已在几个未来产业细分领域形成相对成熟的基础？"
# Markup a document may contain; the page must show it as text and never run it.
HOSTILE = (
    '苏州工业园区发布独角兽企业培育计划<script>window.__pwned = "script"</script>，'
    '首批入选企业共十二家<img src="x" onerror="window.__pwned = \'img\'">。\n\n'
    "该计划由园区科技创新委员会牵头实施。"
)


def test_the_page_is_served_with_a_content_security_policy(hash_engine: RagEngine) -> None:
    with TestClient(create_app(engine=hash_engine)) as client:
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert '<html lang="zh-CN">' in page.text and "<script>" not in page.text
        for asset in ("/static/app.js", "/static/style.css"):
            assert client.get(asset).status_code == 200
        assert "innerHTML" not in client.get("/static/app.js").text  # text only, never markup


def test_the_page_needs_no_token_but_its_data_calls_do(hash_engine: RagEngine) -> None:
    settings = hash_engine.settings.model_copy(update={"api_token": "t0k", "api_token_reads": True})
    with TestClient(create_app(settings, hash_engine)) as client:
        assert client.get("/").status_code == 200
        assert client.post("/search", json={"query": "光谷"}).status_code == 401


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: apt-get install -y chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser: object, server: LiveServer, width: int = 1100, token: bool = True):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    page.goto(server.url + "/")
    if token:
        page.click("#settings summary")
        page.fill("#token", server.token or "")
        page.dispatch_event("#token", "change")
    return page


def ask(page, question: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#question", question)
    page.click("#ask-form button[type=submit]")
    page.wait_for_selector("#ask-status:has-text('用时'), #ask-status.error", timeout=60_000)


@pytest.mark.e2e
def test_ask_see_the_answer_click_a_citation_see_the_quote(
    browser: object, e5_server: LiveServer
) -> None:
    page = open_page(browser, e5_server)
    ask(page, QUESTION)
    assert "已作答" in page.inner_text("#ask-status")
    # The page shows the server's answer (what it says is the reader's, judged by rag eval).
    with e5_server.client() as client:
        said = client.post("/ask", json={"question": QUESTION}).json()["answer"]
    assert said.split("[1]")[0] in page.inner_text("#answer")
    quote = page.inner_text("#citations li:first-child blockquote").strip("“”")
    assert "9个领域" in quote

    page.click("#answer button.cite >> nth=0")
    page.wait_for_selector("#document-view:not([hidden]) mark")
    assert page.inner_text("#document-title") == "北京经开区加速布局未来产业"
    assert page.inner_text(".paragraph.cited mark") == quote
    assert page.locator("mark").count() == 1
    assert page.locator(".paragraph.cited mark").is_visible()  # scrolled into view
    assert page.errors == []


@pytest.mark.e2e
def test_search_mode_lists_ranked_paragraphs(browser: object, e5_server: LiveServer) -> None:
    page = open_page(browser, e5_server)
    page.click("nav button[data-view=search]")
    page.fill("#query", "火箭街区")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#results li")
    assert "火箭街区" in page.inner_text("#results li:first-child p")
    assert re.search(r"第\d+段", page.inner_text("#results li:first-child button"))
    page.click("#results li:first-child button")
    page.wait_for_selector("#document-view:not([hidden]) .paragraph.cited")
    assert "火箭街区" in page.inner_text(".paragraph.cited")


@pytest.mark.e2e
def test_documents_upload_escape_and_delete(
    browser: object, e5_server: LiveServer, tmp_path: Path
) -> None:
    upload = tmp_path / "苏州<b>独角兽&amp;.txt"
    upload.write_text(HOSTILE, encoding="utf-8")
    page = open_page(browser, e5_server)
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("nav button[data-view=documents]")
    page.wait_for_selector("#documents li")
    not_utf8 = tmp_path / "gbk.txt"
    not_utf8.write_bytes("苏州工业园区发布独角兽企业培育计划。".encode("gbk"))
    page.set_input_files("#upload-file", str(not_utf8))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#documents-status.error")
    assert "不是 UTF-8" in page.inner_text("#documents-status")
    page.set_input_files("#upload-file", str(upload))
    page.fill("#upload-id", "e2e/hostile")
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#documents-status:has-text('已收录')", timeout=60_000)
    page.wait_for_selector("#documents-total:has-text('（共 30 篇）')")  # the list reloads
    assert "苏州<b>独角兽&amp;" in page.inner_text("#documents-status")  # the file name, as text

    page.click("nav button[data-view=search]")
    page.fill("#query", "苏州工业园区独角兽企业培育计划")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#results li")
    assert "<script>" in page.inner_text("#results")
    page.click("#results button[data-doc='e2e/hostile'] >> nth=0")
    page.wait_for_selector("#document-view:not([hidden])")
    assert '<img src="x" onerror=' in page.inner_text("#document-paragraphs")
    assert page.locator("#document-paragraphs img, #results img, #results script").count() == 0
    assert page.evaluate("window.__pwned") is None

    page.click("#document-delete")
    page.wait_for_selector("#documents-status:has-text('已删除')")
    assert page.locator("#view-documents").is_visible()
    with e5_server.client() as client:
        assert client.get("/documents/e2e/hostile").status_code == 404
    assert page.errors == []


@pytest.mark.e2e
def test_without_the_token_the_page_says_so(browser: object, e5_server: LiveServer) -> None:
    page = open_page(browser, e5_server, token=False)
    ask(page, QUESTION)
    assert "需要令牌" in page.inner_text("#ask-status")


@pytest.mark.e2e
def test_a_phone_width_page_does_not_scroll_sideways(
    browser: object, e5_server: LiveServer
) -> None:
    page = open_page(browser, e5_server, width=360)
    ask(page, QUESTION)
    page.click("#answer button.cite >> nth=0")
    page.wait_for_selector("#document-view:not([hidden]) mark")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_chromium_args_keep_the_browser_offline() -> None:
    # No first-run, sync, component or background downloads: the test machine has no network.
    assert {"--disable-background-networking", "--disable-component-update"} <= set(CHROMIUM_ARGS)
    assert shutil.which("chromium") is None or CHROMIUM.exists()
