"""The one place that picks the store from settings (``RAG_STORE``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.errors import StoreUnavailableError
from rag.index.local import LocalStore
from rag.index.store import IndexParams, Store

if TYPE_CHECKING:
    from rag.index.milvus import MilvusConfig


def open_store(settings: Settings, params: IndexParams, *, create: bool = False) -> Store:
    """The configured store over ``settings.index_dir``; ``create`` makes an empty one if
    there is none (writers), otherwise a missing index is :class:`IndexNotFoundError`."""
    index_dir = Path(settings.index_dir)
    if settings.store == "milvus":
        from rag.index.milvus import MilvusStore  # imports pymilvus only when configured

        return MilvusStore.open(milvus_config(settings), index_dir, params, create=create)
    if create:
        return LocalStore.create(index_dir, params)
    return LocalStore.open(index_dir, params)


def remove_store(settings: Settings) -> None:
    """Delete everything the configured store holds, for a rebuild with new settings."""
    if settings.store == "milvus":
        from rag.index.milvus import MilvusStore

        MilvusStore.remove(milvus_config(settings), Path(settings.index_dir))
        return
    LocalStore.remove_files(Path(settings.index_dir))


def milvus_config(settings: Settings) -> MilvusConfig:
    """Milvus settings checked: an ``http(s)://`` server, or a Milvus Lite ``.db`` file."""
    try:
        from rag.index.milvus import MilvusConfig
    except ImportError as exc:  # pymilvus missing
        raise StoreUnavailableError(
            f"RAG_STORE=milvus needs the Milvus client ({exc}); "
            'install it with `pip install "rag-zh[milvus]"`'
        ) from exc
    uri = settings.milvus_uri or str(Path(settings.index_dir) / "milvus.db")
    if not uri.startswith(("http://", "https://")):
        if not uri.endswith(".db"):
            raise StoreUnavailableError(
                f"RAG_MILVUS_URI {uri!r} is neither http(s)://host:port nor a Milvus Lite "
                "file ending in .db"
            )
        uri = str(Path(uri).resolve())
    return MilvusConfig(
        uri=uri,
        token=settings.milvus_token,
        collection=settings.milvus_collection,
        consistency=settings.milvus_consistency,
        timeout=settings.milvus_timeout,
    )
