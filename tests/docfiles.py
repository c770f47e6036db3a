"""Small real files of every format, written by the libraries people make them with.

PDFs are set with reportlab's bundled CJK font STSong-Light (the viewer supplies the glyphs,
so the text layer is real but nothing can be rasterised); images for OCR are drawn with
Pillow in a CJK TrueType font from the system (Debian ``fonts-wqy-microhei``, installed by
``.ci/run``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

CJK_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)

RUNNING_HEADER = "青山县人民政府工作报告（2025年）"


def cjk_font() -> Path | None:
    return next((p for p in CJK_FONTS if p.exists()), None)


def write_pdf(
    path: Path,
    chapters: Sequence[tuple[str, Sequence[str]]],
    *,
    title: str | None = None,
    header: str = RUNNING_HEADER,
    caption: str | None = None,
) -> Path:
    """A text PDF: a title, chapter headings, indented paragraphs, a running header and
    ``- n -`` page numbers on every page."""
    from reportlab.lib.pagesizes import A5
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle(
        "body",
        fontName="STSong-Light",
        fontSize=10.5,
        leading=16,
        firstLineIndent=21,
        wordWrap="CJK",
    )
    head = ParagraphStyle(
        "head", fontName="STSong-Light", fontSize=14, leading=22, spaceBefore=6, spaceAfter=4
    )
    big = ParagraphStyle("title", fontName="STSong-Light", fontSize=18, leading=26)
    small = ParagraphStyle("cap", fontName="STSong-Light", fontSize=9, leading=13)

    def furniture(canvas, doc) -> None:  # type: ignore[no-untyped-def]
        canvas.saveState()
        canvas.setFont("STSong-Light", 8)
        canvas.drawString(doc.leftMargin, A5[1] - 28, header)
        canvas.drawCentredString(A5[0] / 2, 22, f"- {doc.page} -")
        canvas.restoreState()

    story = [Paragraph(title, big)] if title else []
    for heading, paragraphs in chapters:
        story.append(Paragraph(heading, head))
        story.extend(Paragraph(text, body) for text in paragraphs)
    if caption:
        story.append(Paragraph(caption, small))
    doc = SimpleDocTemplate(str(path), pagesize=A5, title="", topMargin=50, bottomMargin=45)
    doc.build(story, onFirstPage=furniture, onLaterPages=furniture)
    return path


def write_two_column_pdf(path: Path, paragraphs: Sequence[str]) -> Path:
    """A page set in two columns (as journals and papers are); text runs on from the foot of
    the left column to the top of the right one."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle(
        "body", fontName="STSong-Light", fontSize=10, leading=15, firstLineIndent=20, wordWrap="CJK"
    )
    width, height = A4
    gutter, margin = 20, 50
    column = (width - 2 * margin - gutter) / 2
    frames = [
        Frame(margin, margin, column, height - 2 * margin, id="left"),
        Frame(margin + column + gutter, margin, column, height - 2 * margin, id="right"),
    ]
    doc = BaseDocTemplate(str(path), pagesize=A4, pageTemplates=[PageTemplate("two", frames)])
    doc.build([Paragraph(text, body) for text in paragraphs])
    return path


def write_image_pdf(path: Path, png: bytes) -> Path:
    """A "scanned" PDF: one page that is only an image, no text layer."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    image = ImageReader(io.BytesIO(png))
    width, height = image.getSize()
    canvas = Canvas(str(path), pagesize=(width, height))
    canvas.drawImage(image, 0, 0, width, height)
    canvas.showPage()
    canvas.save()
    return path


def render_png(lines: Sequence[str], font: Path, size: int = 28) -> bytes:
    """Black text on white, one line per entry, as a PNG."""
    from PIL import Image, ImageDraw, ImageFont

    face = ImageFont.truetype(str(font), size)
    width = max(int(face.getlength(line)) for line in lines) + 80
    image = Image.new("RGB", (width, 60 + len(lines) * size * 2), "white")
    draw = ImageDraw.Draw(image)
    for n, line in enumerate(lines):
        draw.text((40, 30 + n * size * 2), line, fill="black", font=face)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def write_docx(
    path: Path,
    title: str,
    sections: Sequence[tuple[str, Sequence[str]]],
    table: Sequence[Sequence[str]] = (),
) -> Path:
    """A Word file: a Title, Heading 1 sections with paragraphs, and an optional table."""
    import docx

    document = docx.Document()
    document.add_heading(title, level=0)
    for heading, paragraphs in sections:
        document.add_heading(heading, level=1)
        for text in paragraphs:
            document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, cell in enumerate(row):
                grid.cell(r, c).text = cell
    document.save(str(path))
    return path


NAV_CHROME = """<nav><ul><li><a href="/">首页</a></li><li><a href="/news">新闻中心</a></li>
<li><a href="/video">视频</a></li><li><a href="/login">登录注册</a></li></ul></nav>
<aside class="sidebar"><h3>热门推荐</h3><ul><li><a href="/a">明星八卦独家揭秘</a></li>
<li><a href="/b">今日股市行情速览</a></li><li><a href="/c">点击领取优惠券</a></li></ul></aside>"""
FOOTER_CHROME = """<footer><p>版权所有 © 2025 山城新闻网 | 联系我们 | 广告服务</p></footer>"""


def html_page(title: str, sections: Sequence[tuple[str, Sequence[str]]]) -> str:
    """A news page: navigation, a sidebar and a footer around one article."""
    body = "".join(
        f"<h2>{heading}</h2>" + "".join(f"<p>{p}</p>" for p in paragraphs)
        for heading, paragraphs in sections
    )
    return (
        f'<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"><title>{title} - 山城新闻网'
        f"</title></head><body>{NAV_CHROME}<main><article><h1>{title}</h1>{body}</article></main>"
        f"{FOOTER_CHROME}</body></html>"
    )
