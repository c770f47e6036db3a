"""Question words, defined once: what each asks for, and where it stands in the question.

The analyser types a question by them ("多少家" asks for a number, "何时" for a date), strips
them from the question's search terms, and the frame reader takes the question word as the
hole the answer fills ("由谁捐献" reads "由 _ 捐献"). Ordered lists are ordered on purpose:
the first pattern that matches decides.
"""

from __future__ import annotations

import re
from typing import Literal

from rag.text.units import COUNTERS

QType = Literal["number", "date", "duration", "person", "org", "place", "other"]

# 几 after these is no question but an indefinite number: "好几所" (several), "十几个" (a
# dozen or so).
INDEFINITE = "好十"

# Ordered: the first matching pattern decides ("几月" is a date, "几年" a duration, "几家" a count;
# "哪几家" asks which ones, not how many).
ZH_TYPES: list[tuple[QType, re.Pattern[str]]] = [
    # "在哪" after an abstract noun asks what, not where: "区别在哪里", "优势在哪儿".
    (
        "other",
        re.compile(
            r"(?:差异|区别|差别|不同|问题|关键|难点|难处|优势|长处|短处|特点|特色|亮点|意义|价值|好处"
            r"|不足|症结|奥秘|秘诀)(?:究竟|到底|主要|又|就)?在哪"
        ),
    ),
    (
        "date",
        re.compile(r"哪一?年|哪一?天|哪个月|几月|几号|何时|什么时候|什么时间|哪个时间|日期|时间是"),
    ),
    (
        "duration",
        re.compile(
            rf"多久|多长时间|多长的时间|多少年|(?<![{INDEFINITE}])几年|多少天|(?<![{INDEFINITE}])几天"
            rf"|多少个月|(?<![{INDEFINITE}])几个月|多少小时|耗时"
        ),
    ),
    (
        "number",
        re.compile(
            rf"多少|(?<![哪{INDEFINITE}])几[{COUNTERS}万亿千百十]|多大|多高|多重|多远|多快|多长|多宽|多深|多厚|多粗|百分之几|比例|占比|比重|增长率|增速|几成"
        ),
    ),
    ("person", re.compile(r"谁|哪位|什么人|何人|姓名|叫什么名字")),
    (
        "org",
        re.compile(
            r"哪家|哪些(?:公司|企业|机构|单位|部门)|哪[个所]?[^，。？\s]{0,4}?(?:公司|企业|机构|单位|部门|集团|银行|大学|高校|学院|研究院|研究所|实验室|组织|团队|平台|医院|协会|中心)|什么(?:公司|企业|机构|单位|部门|组织)"
        ),
    ),
    (
        "place",
        re.compile(
            r"哪里|哪儿|什么地方|什么(?:地区|区域|国家|省份|城市|位置)|哪国|在哪|哪[个座]?[^，。？\s]{0,4}?(?:城市|省|地区|区|县|市|镇|乡|村|园区|地方|国家)|哪座|哪些地方|哪些地区|哪些国家|何地|何处"
        ),
    ),
]
EN_TYPES: list[tuple[QType, re.Pattern[str]]] = [
    (
        "date",
        re.compile(
            r"\b(when|what year|which year|what date|which month|what month|what day)\b", re.I
        ),
    ),
    ("duration", re.compile(r"\bhow long\b|\bhow many (years|months|days|hours)\b", re.I)),
    (
        "number",
        re.compile(
            r"\b(how many|how much|what percentage|what proportion|what share|how large|how big|how high|how tall|how heavy|what (?:is|was) the (?:total|amount|number|value|area|output|capacity|investment))\b",
            re.I,
        ),
    ),
    ("person", re.compile(r"\b(who|whom|whose)\b", re.I)),
    (
        "org",
        re.compile(
            r"\bwhich (company|companies|organi[sz]ation|institution|firm|enterprise|university|institute|agency|body|group|bank|laboratory|lab)\b|\bwhat (company|organi[sz]ation|institution|firm)\b",
            re.I,
        ),
    ),
    (
        "place",
        re.compile(
            r"\bwhere\b|\bwhich (city|province|region|district|country|place|park|zone)\b|\bin what (city|province|place)\b",
            re.I,
        ),
    ),
]

# Every question word, removed from the question before its terms are taken.
QUESTION_WORDS = re.compile(
    rf"多少|(?<![{INDEFINITE}])几[{COUNTERS}年天月]?|什么|哪[一个家些位里儿年天座]*|谁|何时|何地|如何|怎么|怎样|为什么|是否|吗|呢|？|\?"
)

# How precisely a date question asks: the day, or the year.
DAY = re.compile(r"哪一?天|几号|几月几日|什么日子|具体日期|what date|which day", re.I)
YEAR = re.compile(r"哪一?年|what year|which year", re.I)

# Why-questions are answered by a clause of their own, not a slot; but "称之为什么" and
# "作为什么" ask "as what", not why, and there 什么 is a hole.
WHY = re.compile(
    r"(?<![称之作成视名叫改])为(?:什么|何)|因何|何故|(?:什么|哪些)原因|原因(?:是|有|为)|缘故|\bwhy\b",
    re.I,
)
# Question words that stand where the answer would ("谁", "哪家", "什么", "多少").
HOLE = re.compile(
    rf"谁|哪(?:一|几)?[位个家些里儿年天座所种国类]?|什么|多少|(?<![{INDEFINITE}])几|何时|何地|何处|何人"
    r"|多久|多长的?时间|多(?:长|宽|深|厚|高|远|大)"
)
# A question with no question word that stops at its verb ("其编号是？", "这种病又称为？")
# asks for what would follow it: the hole is at its end.
OPEN_END = re.compile(r"(?:是|为|叫|叫做|称为|称作|名为|包括|有)\s*[?？]?\s*$")
# How-questions and yes/no questions have no slot either.
NO_SLOT = re.compile(r"如何|怎么|怎样|是否|是不是|有没有")

# "分别是多少" asks for several values, which a sentence gives clause after clause.
RESPECTIVELY = re.compile(r"分别|各自|各是|respectively", re.I)

# List questions ask for every item of an enumeration ("哪些", "哪几家", "哪六大", "分别是").
LIST = re.compile(
    r"哪些|哪几|哪[一二三四五六七八九十两\d]+[个项家种类大条位所座批名款]|分别(?:是|为|有|叫)"
    r"|包括哪|有哪|\bwhat are\b|\bwhich (?:\w+ ){0,3}(?:are|were|have)\b|\blist\b|\bname the\b",
    re.I,
)
# Method questions ask how something is or was done; the answer is a clause, not a slot.
HOW = re.compile(
    r"如何|怎样|怎么|通过什么|采取(?:了)?什么|以什么方式|用什么(?:方法|方式|办法)"
    r"|什么(?:方式|办法|方法|举措|措施|途径|手段)"
    r"|\bhow (?:did|does|do|is|are|was|were|can|could|will|has|have)\b|\bin what way|\bby what means"
    r"|\bwhat (?:measures|steps|methods|means)\b",
    re.I,
)
