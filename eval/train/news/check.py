#!/usr/bin/env python3
"""Validate the newspaper-style train set (standard library only): the checks of
eval/fresh/check.py, with this set's directory, ids (N001, ...) and minimum counts.

Usage: python3 eval/train/news/check.py
Exits 0 and prints "OK" when every check passes; otherwise lists the errors and exits 1.
"""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "fresh_check", os.path.join(HERE, "..", "..", "fresh", "check.py")
)
check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check)

check.DOCS_DIR = os.path.join(HERE, "docs")
check.QUESTIONS = os.path.join(HERE, "questions.jsonl")
check.ID_PREFIX = "N"
check.MIN_DOCS = 9
check.MINIMUMS = {
    "fact": 24,
    "paraphrase": 27,
    "list": 24,
    "reason": 21,
    "english": 24,
    "traditional": 9,
    "unanswerable": 36,
}
check.MIN_NEAR_MISS = 27
check.MIN_OFF_TOPIC = 6
check.MIN_TOTAL = 180

if __name__ == "__main__":
    sys.exit(check.main())
