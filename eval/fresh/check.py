#!/usr/bin/env python3
"""Validate the fresh held-out eval set (standard library only).

Usage: python3 /work/main/eval/fresh/check.py
Exits 0 and prints "OK" when every check passes; otherwise lists the errors
and exits 1.
"""

import json
import os
import re
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS_DIR = os.path.join(HERE, "docs")
QUESTIONS = os.path.join(HERE, "questions.jsonl")

TYPES = ("fact", "paraphrase", "list", "reason", "english", "traditional", "unanswerable")
MINIMUMS = {
    "fact": 12,
    "paraphrase": 12,
    "list": 12,
    "reason": 10,
    "english": 12,
    "traditional": 4,
    "unanswerable": 14,
}
MIN_NEAR_MISS = 10
MIN_OFF_TOPIC = 4
MIN_TOTAL = 72
MIN_DOCS = 5
ID_PREFIX = "F"  # ids run F001, F002, ...
DOC_HAN_RANGE = (1200, 2200)
EVIDENCE_LEN = (10, 80)
HAN = re.compile(r"[\u4e00-\u9fff]")
ASCII_SLUG = re.compile(r"^[a-z0-9_]+$")
REQUIRED = ("id", "question", "answers", "evidence", "doc", "type")
ALLOWED = set(REQUIRED) | {"items", "near_miss"}

errors = []


def err(msg):
    errors.append(msg)


def load_docs():
    docs = {}
    if not os.path.isdir(DOCS_DIR):
        err("missing docs directory %s" % DOCS_DIR)
        return docs
    for name in sorted(os.listdir(DOCS_DIR)):
        if not name.endswith(".md"):
            continue
        slug = name[:-3]
        if not ASCII_SLUG.match(slug):
            err("doc slug not short ASCII: %r" % slug)
        with open(os.path.join(DOCS_DIR, name), encoding="utf-8") as f:
            text = f.read()
        lines = text.splitlines()
        if not lines or not lines[0].startswith("# ") or len(lines[0]) < 3:
            err("%s: first line must be '# 标题'" % name)
        for ln in lines[1:]:
            if ln.startswith("#") and not ln.startswith("## "):
                err("%s: only '## ' sub-headings allowed after the title: %r" % (name, ln))
        n_han = len(HAN.findall(text))
        if not (DOC_HAN_RANGE[0] <= n_han <= DOC_HAN_RANGE[1]):
            err("%s: %d Chinese characters, expected %d-%d" % ((name, n_han) + DOC_HAN_RANGE))
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        docs[slug] = {"text": text, "paragraphs": paragraphs, "han": n_han}
    if len(docs) < MIN_DOCS:
        err("expected at least %d documents, found %d" % (MIN_DOCS, len(docs)))
    return docs


def check_questions(docs):
    rows = []
    if not os.path.exists(QUESTIONS):
        err("missing %s" % QUESTIONS)
        return rows
    with open(QUESTIONS, encoding="utf-8") as f:
        raw_lines = f.read().splitlines()
    for lineno, line in enumerate(raw_lines, 1):
        if not line.strip():
            err("line %d: blank line" % lineno)
            continue
        if "\\u" in line:
            err("line %d: contains \\u escapes (write with ensure_ascii=False)" % lineno)
        try:
            q = json.loads(line)
        except json.JSONDecodeError as e:
            err("line %d: invalid JSON: %s" % (lineno, e))
            continue
        if not isinstance(q, dict):
            err("line %d: not a JSON object" % lineno)
            continue
        rows.append((lineno, q))

    seen_ids = set()
    counts = Counter()
    near = Counter()
    per_doc = Counter()
    for idx, (lineno, q) in enumerate(rows, 1):
        where = "line %d (%s)" % (lineno, q.get("id"))
        for k in REQUIRED:
            if k not in q:
                err("%s: missing field %r" % (where, k))
        extra = set(q) - ALLOWED
        if extra:
            err("%s: unexpected fields %s" % (where, sorted(extra)))
        qid = q.get("id")
        if not isinstance(qid, str) or not re.match(r"^%s\d{3}$" % ID_PREFIX, qid):
            err("%s: bad id %r" % (where, qid))
        elif qid in seen_ids:
            err("%s: duplicate id" % where)
        else:
            seen_ids.add(qid)
            if qid != "%s%03d" % (ID_PREFIX, idx):
                err("%s: ids should run in order (expected %s%03d)" % (where, ID_PREFIX, idx))
        if not isinstance(q.get("question"), str) or not q.get("question", "").strip():
            err("%s: empty question" % where)
        typ = q.get("type")
        if typ not in TYPES:
            err("%s: invalid type %r" % (where, typ))
            continue
        counts[typ] += 1
        slug = q.get("doc")
        if slug not in docs:
            err("%s: unknown doc %r" % (where, slug))
            continue
        per_doc[slug] += 1
        doc = docs[slug]
        text = doc["text"]
        answers = q.get("answers")
        evidence = q.get("evidence")
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            err("%s: answers must be a list of strings" % where)
            continue
        if not isinstance(evidence, str):
            err("%s: evidence must be a string" % where)
            continue

        # near_miss only on unanswerable; items only on list
        if typ == "unanswerable":
            if not isinstance(q.get("near_miss"), bool):
                err("%s: unanswerable needs boolean near_miss" % where)
            else:
                near[q["near_miss"]] += 1
            if answers:
                err("%s: unanswerable must have answers []" % where)
            if evidence != "":
                err('%s: unanswerable must have evidence ""' % where)
        elif "near_miss" in q:
            err("%s: near_miss only allowed on unanswerable" % where)
        if typ == "list":
            items = q.get("items")
            if (
                not isinstance(items, list)
                or len(items) < 2
                or not all(isinstance(i, str) and i for i in items)
            ):
                err("%s: list question needs items (>=2 strings)" % where)
                items = []
            if len(answers) != 1:
                err(
                    "%s: list question needs exactly one answer string (the full enumeration)"
                    % where
                )
            for it in items:
                if it not in text:
                    err("%s: item not in doc: %r" % (where, it))
                for a in answers:
                    if it not in a:
                        err("%s: item %r not contained in answer %r" % (where, it, a))
            if len(set(items)) != len(items):
                err("%s: duplicate items" % where)
        elif "items" in q:
            err("%s: items only allowed on list questions" % where)

        if typ != "unanswerable":
            if not answers:
                err("%s: answerable question with no answers" % where)
            for a in answers:
                if not a.strip():
                    err("%s: empty answer" % where)
                elif a not in text:
                    err("%s: answer not verbatim in doc: %r" % (where, a))
            if not (EVIDENCE_LEN[0] <= len(evidence) <= EVIDENCE_LEN[1]):
                err("%s: evidence length %d not in %d-%d" % ((where, len(evidence)) + EVIDENCE_LEN))
            paras = [p for p in doc["paragraphs"] if evidence and evidence in p]
            if not paras:
                err("%s: evidence not verbatim inside one paragraph: %r" % (where, evidence))
            elif answers and not any(a in p for p in paras for a in answers):
                err("%s: no answer occurs in the evidence paragraph" % where)
        else:
            # sanity: the question text itself must not be a doc sentence
            pass

        if typ == "english":
            if HAN.search(q["question"]):
                err("%s: english question contains Chinese characters" % where)

    for t, m in MINIMUMS.items():
        if counts[t] < m:
            err("type %s: %d questions, minimum %d" % (t, counts[t], m))
    if near[True] < MIN_NEAR_MISS:
        err("near-miss unanswerable: %d, minimum %d" % (near[True], MIN_NEAR_MISS))
    if near[False] < MIN_OFF_TOPIC:
        err("off-topic unanswerable: %d, minimum %d" % (near[False], MIN_OFF_TOPIC))
    if len(rows) < MIN_TOTAL:
        err("total questions %d, minimum %d" % (len(rows), MIN_TOTAL))
    for slug in docs:
        if per_doc[slug] == 0:
            err("doc %s has no questions" % slug)
    return rows, counts, near, per_doc


def main():
    docs = load_docs()
    result = check_questions(docs)
    if errors:
        for e in errors:
            print("ERROR:", e)
        print("%d error(s)" % len(errors))
        return 1
    rows, counts, near, per_doc = result
    print("docs:", ", ".join("%s (%d 字)" % (s, d["han"]) for s, d in sorted(docs.items())))
    print("questions: %d" % len(rows))
    print("per type:", ", ".join("%s=%d" % (t, counts[t]) for t in TYPES))
    print("unanswerable: near_miss=%d, off_topic=%d" % (near[True], near[False]))
    print("per doc:", ", ".join("%s=%d" % kv for kv in sorted(per_doc.items())))
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
