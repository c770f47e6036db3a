"""The one place that picks the store from settings (``RAG_STORE``)."""

from __future__ import annotations

from pathlib import Path

from rag.config import Settings
from rag.index.local import LocalStore
from rag.index.store import IndexParams, Store


def open_store(settings: Settings, params: IndexParams, *, create: bool = False) -> Store:
    """The configured store over ``settings.index_dir``; ``create`` makes an empty one if
    there is none (writers), otherwise a missing index is :class:`IndexNotFoundError`."""
    index_dir = Path(settings.index_dir)
    if create:
        return LocalStore.create(index_dir, params)
    return LocalStore.open(index_dir, params)


def remove_store(settings: Settings) -> None:
    """Delete everything the configured store holds, for a rebuild with new settings."""
    LocalStore.remove_files(Path(settings.index_dir))
