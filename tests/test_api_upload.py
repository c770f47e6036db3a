"""``POST /documents`` with a file: the format from the content, citations with pages, bad
files answered with a 4xx JSON error and nothing already indexed lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from rag.engine import RagEngine
from tests.docfiles import html_page, write_docx, write_pdf

FILLER = "本章数据由县统计局提供，按年度报表汇总核算，" * 10
REPORT = [
    ("一、概况", [FILLER, FILLER]),
    ("二、林业", [FILLER, "全县森林覆盖率达到百分之六十二，新增造林面积一万八千亩。"]),
]


@pytest.fixture
def client(hash_engine: RagEngine) -> Iterator[TestClient]:
    with TestClient(create_app(engine=hash_engine)) as c:
        yield c


def upload(client: TestClient, name: str, data: bytes, **form: str):  # type: ignore[no-untyped-def]
    return client.post("/documents", files={"file": (name, data)}, data=form)


def test_an_uploaded_pdf_is_cited_with_its_page(client: TestClient, tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "林业报告.pdf", REPORT, title="松岭县林业报告").read_bytes()
    r = upload(client, "林业报告.pdf", pdf)
    assert r.status_code == 201, r.text
    assert r.json()["id"] == "林业报告" and r.json()["title"] == "松岭县林业报告"
    assert r.headers["location"].startswith("/documents/")
    answer = client.post("/ask", json={"question": "松岭县森林覆盖率达到多少？"}).json()
    citation = answer["citations"][0]
    assert citation["doc_id"] == "林业报告"
    assert citation["section"] == "二、林业" and citation["page"] == 2
    opened = client.get(r.headers["location"]).json()
    assert {p["page"] for p in opened["paragraphs"]} == {1, 2}


def test_the_format_comes_from_the_content_and_form_fields_apply(
    client: TestClient, tmp_path: Path
) -> None:
    docx = write_docx(tmp_path / "x.docx", "松岭县简报", [("交通", ["松岭县新开通公交线路九条。"])])
    r = upload(client, "download.bin", docx.read_bytes(), id="briefs/2025-1", title="简报一")
    assert r.status_code == 201, r.text
    assert r.json() == {"id": "briefs/2025-1", "title": "简报一", "paragraph_count": 1}
    page = html_page("松岭县新闻", [("文化", ["松岭县图书馆新增藏书两万册。"])])
    r = upload(client, "page", page.encode("utf-8"))
    assert r.status_code == 201, r.text
    assert (
        client.get("/documents/page").json()["paragraphs"][0]["text"]
        == "松岭县图书馆新增藏书两万册。"
    )


@pytest.mark.parametrize(
    ("name", "data", "status", "message"),
    [
        ("empty.pdf", b"", 415, "empty file"),
        ("fake.pdf", b"<html>404 Not Found</html>", 415, "not a PDF"),
        ("broken.pdf", b"%PDF-1.7\ngarbage", 422, "corrupt PDF"),
        ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, 415, "legacy Office"),
        ("gbk.txt", "中文".encode("gbk"), 422, "not UTF-8"),
    ],
)
def test_bad_uploads_are_4xx_json_and_the_index_is_untouched(
    client: TestClient, name: str, data: bytes, status: int, message: str
) -> None:
    before = client.get("/healthz").json()
    r = upload(client, name, data)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]["message"]
    after = client.get("/healthz").json()
    assert after["documents"] == before["documents"]
    assert after["index_version"] == before["index_version"]


def test_an_upload_over_the_body_limit_is_a_413(hash_engine: RagEngine) -> None:
    settings = hash_engine.settings.model_copy(update={"max_body_bytes": 2048})
    hash_engine.settings = settings
    with TestClient(create_app(settings=settings, engine=hash_engine)) as c:
        r = upload(c, "big.txt", "大".encode() * 2000)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


def test_json_posts_still_work_and_the_openapi_documents_both(client: TestClient) -> None:
    r = client.post("/documents", json={"title": "标题", "text": "松岭县的正文。"})
    assert r.status_code == 201
    body = client.get("/openapi.json").json()["paths"]["/documents"]["post"]["requestBody"]
    assert set(body["content"]) == {"application/json", "multipart/form-data"}
    assert (
        client.post("/documents", content=b"x", headers={"content-type": "text/plain"}).status_code
        == 415
    )


def test_an_uploads_id_takes_the_normal_form(client: TestClient) -> None:
    r = upload(client, "notes.txt", "标题\n\n松岭县的正文。".encode(), id="\u200bnotes/松岭")
    assert r.status_code == 201, r.text
    assert r.json()["id"] == "notes/松岭"
    r = upload(client, "notes.txt", "标题\n\n正文。".encode(), id="\u200b")
    assert r.status_code == 422 and "blank" in r.json()["error"]["message"]
