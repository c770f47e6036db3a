"""Offline Chinese semantic search and question answering with exact paragraph citations.

The public API is the names in ``__all__``::

    from rag import RagEngine, Settings

    engine = RagEngine(Settings())
    answer = engine.ask("园区去年新增了多少家企业？")  # over the documents in Settings().corpus

Importing this package is cheap and silent: each name is imported on first access (module
``__getattr__``), so ``import rag`` loads no model, index, FAISS or tokenizer dictionary.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # for type checkers and editors; at run time the names load lazily
    from rag.answer.types import Answer, Citation
    from rag.config import Settings
    from rag.engine import RagEngine, SearchResult
    from rag.search.retrieval import Hit

# Public name -> the module that defines it.
_EXPORTS = {
    "RagEngine": "rag.engine",
    "SearchResult": "rag.engine",
    "Settings": "rag.config",
    "Answer": "rag.answer.types",
    "Citation": "rag.answer.types",
    "Hit": "rag.search.retrieval",
}

__all__ = ["Answer", "Citation", "Hit", "RagEngine", "SearchResult", "Settings", "__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
