"""Chinese names written in pinyin, found in Chinese text: "Li Zhongchen" → 李忠臣.

An English question names Chinese people and places in pinyin; the sources write them in
characters, and no dictionary lists every name. Each character's readings (CC-CEDICT's
single-character entries, tones dropped) say which runs of characters a romanised name can
spell: :func:`name_keys` takes the names out of English text, :func:`find_name` finds where a
text spells one.
"""

from __future__ import annotations

import gzip
import itertools
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path

from rag.cache import cache_dir, cached_json, file_digest
from rag.text.chars import HAN_EXTENDED
from rag.text.crosslingual import available, cedict_path, glossary, stopwords_en

# Part of the cached table's file name: bump it when readings are read differently.
READINGS_VERSION = 1
SURNAMES_VERSION = 1  # the same for the cached surnames
MAX_NAME_CHARS = 6  # characters of the longest name looked for
MIN_KEY = 4  # letters of the shortest name looked for: "Li" alone matches too much
MAX_WORDS = 3  # capitalised words of one name ("Ouyang Xiu", "Dugu Jian", "Li Zhong Chen")
_LINE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /")
_SYLLABLE = re.compile(r"^([a-zü:]+)[1-5]$")
_CAPITALISED = re.compile(r"[A-Z][a-z]+(?:['-][A-Za-z]+)*")
_HAN_CHAR = re.compile(f"[{HAN_EXTENDED}]")
_SURNAME = re.compile(r"/(?:two-character )?surname [A-Z]")
_lock = threading.Lock()


def readings() -> dict[str, tuple[str, ...]]:
    """Han character → its toneless readings ("长" → ("chang", "zhang")), simplified and
    traditional forms alike. Read from CC-CEDICT once per machine, cached as JSON."""
    with _lock:
        return _readings()


@lru_cache(maxsize=1)
def _readings() -> dict[str, tuple[str, ...]]:
    if not available():
        return {}
    source = cedict_path()
    name = f"pinyin-{file_digest(source)[:16]}-v{READINGS_VERSION}.json"
    table = cached_json(cache_dir() / name, lambda: _read(source))
    return {k: tuple(v) for k, v in table.items()}


def _read(path: Path) -> dict[str, tuple[str, ...]]:
    found: dict[str, dict[str, None]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            m = _LINE.match(line)
            if not m:
                continue
            traditional, simplified, pinyin = m.groups()
            if len(simplified) != 1 or " " in pinyin:
                continue
            s = _SYLLABLE.match(pinyin.lower())
            if not s:
                continue
            # ü is written u: in CC-CEDICT, v or u in names ("Lü" → "lv", "lu")
            for spelling in dict.fromkeys(
                [s.group(1).replace("u:", "v"), s.group(1).replace("u:", "u")]
            ):
                for char in {traditional, simplified}:
                    found.setdefault(char, {})[spelling] = None
    return {char: tuple(spellings) for char, spellings in found.items()}


def surnames() -> frozenset[str]:
    """Chinese surnames, one character or two ("周", "欧阳"): CC-CEDICT's headwords of one or
    two characters that it glosses "surname …", simplified and traditional forms alike.
    Empty when the dictionary is not installed."""
    with _lock:
        return _surnames()


@lru_cache(maxsize=1)
def _surnames() -> frozenset[str]:
    if not available():
        return frozenset()
    source = cedict_path()
    name = f"surnames-{file_digest(source)[:16]}-v{SURNAMES_VERSION}.json"
    return frozenset(cached_json(cache_dir() / name, lambda: _read_surnames(source)))


def _read_surnames(path: Path) -> list[str]:
    found: dict[str, None] = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            m = _LINE.match(line)
            if m and len(m.group(2)) <= 2 and _SURNAME.search(line):
                found.update(dict.fromkeys(m.group(1, 2)))
    return sorted(found)


@lru_cache(maxsize=1)
def _syllables() -> frozenset[str]:
    return frozenset(r for spellings in readings().values() for r in spellings)


def spells_pinyin(key: str) -> bool:
    """Whether ``key`` (lower case, no spaces) splits into pinyin syllables."""
    syllables = _syllables()
    reach = [True] + [False] * len(key)
    for i in range(len(key)):
        if reach[i]:
            for j in range(i + 1, min(len(key), i + 6) + 1):
                if key[i:j] in syllables:
                    reach[j] = True
    return reach[-1]


@lru_cache(maxsize=1024)
def name_keys(text: str) -> tuple[str, ...]:
    """The romanised names of English ``text``, each as one lower-case key: runs of up to
    ``MAX_WORDS`` capitalised words that spell pinyin ("Dugu Jian" → "dugujian"), longest
    first; a run that does not spell pinyin gives its words that do. A single word that the
    dictionary defines ("Queen", "Beijing") is left to the translation. Memoised: search
    and the reader both ask for the same question's."""
    stop = stopwords_en()
    words = [
        (m.group(0), m.start(), m.end())
        for m in _CAPITALISED.finditer(text)
        if m.group(0).lower() not in stop
    ]
    keys: list[str] = []
    i = 0
    while i < len(words):
        for n in range(min(MAX_WORDS, len(words) - i), 0, -1):
            run = words[i : i + n]
            adjacent = all(text[a[2] : b[1]].strip() == "" for a, b in itertools.pairwise(run))
            key = re.sub(r"[^a-z]", "", "".join(w.lower() for w, _, _ in run))
            # one word the dictionary defines ("Queen") is English, and is translated
            english = n == 1 and key in glossary()
            if adjacent and len(key) >= MIN_KEY and not english and spells_pinyin(key):
                keys.append(key)
                i += n
                break
        else:
            i += 1
    return tuple(dict.fromkeys(keys))


def find_name(key: str, text: str) -> Iterator[tuple[int, int]]:
    """Where runs of Han characters in ``text`` read as ``key``, as (start, end) offsets
    (non-overlapping, left to right)."""
    pattern = _name_pattern(key)
    if pattern is not None:
        for m in pattern.finditer(text):
            yield m.start(), m.end()


@lru_cache(maxsize=4096)
def _name_pattern(key: str) -> re.Pattern[str] | None:
    """A regular expression of every way to spell ``key``: each split of it into syllables
    (at most ``MAX_NAME_CHARS``), one character class per syllable. Searching text with it
    runs in C; a character-by-character search cost ~7 ms per English query."""
    chars = _chars_by_reading()
    splits: list[list[str]] = []

    def split(at: int, parts: list[str]) -> None:
        if at == len(key):
            splits.append(parts)
            return
        if len(parts) == MAX_NAME_CHARS or len(splits) >= MAX_SPLITS:
            return
        for end in range(at + 1, min(len(key), at + 6) + 1):
            if key[at:end] in chars:
                split(end, [*parts, key[at:end]])

    split(0, [])
    if not splits:
        return None
    return re.compile("|".join("".join(f"[{chars[s]}]" for s in parts) for parts in splits))


MAX_SPLITS = 64  # ways to split one name into syllables: "xian" is 先 or 西安


@lru_cache(maxsize=1)
def _chars_by_reading() -> dict[str, str]:
    """Toneless reading → the Han characters read so (for a regular-expression class)."""
    out: dict[str, list[str]] = {}
    for char, spellings in readings().items():
        if _HAN_CHAR.fullmatch(char):
            for r in spellings:
                out.setdefault(r, []).append(char)
    return {r: "".join(sorted(set(cs))) for r, cs in out.items()}


def spelled_names(keys: Sequence[str], texts: Iterable[str]) -> list[str]:
    """How ``texts`` write each of the names ``keys`` in characters (the first spelling found
    per name), e.g. ``["李忠臣"]`` for ``("lizhongchen",)``."""
    out: dict[str, str] = {}
    for text in texts:
        for key in keys:
            if key not in out and (found := next(find_name(key, text), None)) is not None:
                out[key] = text[found[0] : found[1]]
        if len(out) == len(keys):
            break
    return list(dict.fromkeys(out.values()))
