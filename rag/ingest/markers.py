"""What Chinese page layout looks like, as data: page numbers, captions, bylines, headings.

Each pattern describes a convention of Chinese print in general (news, reports, books), not
one publication's, and is shared by the page parser and the layout repair of PDFs and scans.
"""

from __future__ import annotations

import re

from rag.text.chars import CLOSERS, ELLIPSIS, FULL_STOPS, HAN, char_class
from rag.text.chars import SENTENCE_END as STOP_MARKS

_HAN = HAN
_CN_NUM = "一二三四五六七八九十百千零〇两"

# A line that ends a sentence (closing quotes and brackets may follow the mark).
SENTENCE_END = re.compile(
    f"{char_class(STOP_MARKS, ELLIPSIS, also='：:')}{char_class(CLOSERS, also='】')}*$"
)

# A running page number on its own line: "12", "- 12 -", "第12页", "第 3 页 共 10 页", "3/10",
# "Page 3 of 10", roman numerals of front matter.
PAGE_NUMBER = re.compile(
    r"^(?:[-—–－·•\s]*\d{1,4}[-—–－·•\s]*"
    r"|第\s*\d{1,4}\s*页(?:\s*[/，,]?\s*共\s*\d{1,4}\s*页)?"
    r"|\d{1,4}\s*[/／]\s*\d{1,4}"
    r"|(?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?"
    r"|[-—–]?\s*[ivxlc]{1,6}\s*[-—–]?)$",
    re.IGNORECASE,
)

# Photo and figure captions: "图1 …", "表 2-3 …", "图为…", "图片来源：…", "资料图",
# and the photographer's credit at the end ("张三摄", "新华社供图", "（李四 摄）").
CAPTION_START = re.compile(
    rf"^(?:图为|图片来源|图片[:：]|图[:：]|资料图|[图表圖]\s*[\d{_CN_NUM}]+(?:[-.．]\d+)?(?=[\s:：.．、{_HAN}]))"
)
CAPTION_END = re.compile(rf"(?:[{_HAN}](?:供图|摄)|[（(][^（）()]{{0,20}}摄[）)])$")
CAPTION_INNER = re.compile(rf"{char_class(FULL_STOPS)}\s*图为")

# An editor's note opening an article.
NOTE_START = re.compile(r"^编者按")

# A byline on its own line: the reporter, correspondent or author; at most this long.
MAX_BYLINE = 30
BYLINE_LINE = re.compile(
    r"^(?:◎|本报记者|本报特约|特约记者|通讯员|特约通讯员|记者|作者[:：\s]|撰稿[:：\s]|文[／/|｜:：]|文\s*[/／]|文\s*[|｜])"
)
# A dateline opening a news paragraph: "本报讯", "新华社北京5月3日电", "XX日报讯（记者 …）".
_AGENCY = rf"[{_HAN}]{{1,8}}(?:日报|晚报|早报|时报|商报|新闻|报|社|网|台)"
BYLINE_PREFIX = re.compile(
    rf"^(?:本报讯|{_AGENCY}讯|(?:本报|{_AGENCY})(?=[（(][^（()）]{{0,20}}(?:记者|通讯员))"
    rf"|本报[^\s，,。]{{1,12}}电|{_AGENCY}[^\s，,。]{{1,12}}电(?=[\s（(]))"
    r"\s*(?:[（(][^（()）]{0,40}[）)])?\s*"
)
# A column name set above a headline ("图片新闻", "简讯"): a few characters alone on a line.
COLUMN_NAME = re.compile(rf"^[{_HAN}]{{2,4}}$")
COLUMN_NAMES = frozenset({"图片新闻", "简讯", "短讯", "快讯", "图说", "图片报道"})

# Numbered headings of reports and books: "第一章 …", "第3节", "一、…", "（二）…", "1.2 …".
HEADING_NUMBER = re.compile(
    rf"^(?:第[{_CN_NUM}\d]+[章节篇部编卷条]|[{_CN_NUM}]+[、．]|[（(][{_CN_NUM}]+[）)]|\d+(?:\.\d+)+\s*[{_HAN}A-Za-z])"
)


def ends_sentence(text: str) -> bool:
    return SENTENCE_END.search(text) is not None


def is_caption(text: str) -> bool:
    return bool(CAPTION_START.match(text) or CAPTION_END.search(text))


def is_page_number(text: str) -> bool:
    return PAGE_NUMBER.match(text.strip()) is not None
