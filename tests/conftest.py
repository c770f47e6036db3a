"""Shared fixtures: no outbound network, hash-embedder engines, one real-model seed index."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rag.config import Settings, get_settings
from rag.index.embeddings import HashEmbedder
from tests.fakes import FakeLLM, start_fake_llm
from tests.live_server import LiveServer, live_server

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _allowed(address: object) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX
        return True
    host = address[0] if isinstance(address, tuple) else ""
    return host in ("127.0.0.1", "::1", "localhost", "0.0.0.0")


def _guard(self: socket.socket, address: object) -> None:
    if not _allowed(address):
        raise RuntimeError(f"outbound network blocked in tests: {address!r}")


@pytest.fixture(autouse=True)
def _block_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests may talk to loopback servers only (haystack's request_blocker idea)."""

    def connect(self: socket.socket, address: object) -> None:
        _guard(self, address)
        return _real_connect(self, address)  # type: ignore[arg-type]

    def connect_ex(self: socket.socket, address: object) -> int:
        _guard(self, address)
        return _real_connect_ex(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield


@pytest.fixture(autouse=True)
def _clean_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts from default settings, unaffected by the developer's RAG_* variables.

    Unit tests run with the hash embedder, whose similarities are noise to the reader's
    fitted models (fitted on e5 vectors); the models clip every feature to the range they
    were fitted on, so the fitted abstention threshold serves unit and e2e tests alike.
    """

    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def hash_settings(tmp_path: Path) -> Settings:
    return Settings(
        index_dir=tmp_path / "index",
        corpus=[SEEDS],
        embedder="hash",
    )


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """``<name>/index`` built by ``build`` once per test run, shared by the xdist workers
    (they take turns on a lock; the first one builds, the others find it done)."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's directory, above each worker's own
    target = shared / name
    with open(shared / f"{name}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "done").exists():
            shutil.rmtree(target, ignore_errors=True)
            build(target / "index")
            (target / "done").touch()
    return target / "index"


@pytest.fixture(scope="session")
def hash_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed index built once per test run with the hash embedder (never written to:
    each test gets its own copy through ``hash_engine``)."""
    from rag.engine import RagEngine

    def build(index_dir: Path) -> None:
        settings = Settings(index_dir=index_dir, corpus=[SEEDS], embedder="hash")
        engine = RagEngine(settings, embedder=HashEmbedder())
        engine.build()
        engine.store.close()

    return built_once(tmp_path_factory, "hash-index", build)


def copy_index(source: Path, target: Path) -> Path:
    """A private copy of a closed index (copy-on-write for the tests that change it)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".lock", "LOCK"))
    return target


@pytest.fixture
def hash_engine(hash_settings: Settings, hash_index_dir: Path):  # type: ignore[no-untyped-def]
    """An engine over the seeds with the deterministic hash embedder, in ``tmp_path``."""
    from rag.engine import RagEngine

    copy_index(hash_index_dir, hash_settings.index_dir)
    return RagEngine(hash_settings, embedder=HashEmbedder())


@pytest.fixture(scope="session")
def hash_milvus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed index built once per session in Milvus Lite (``<dir>/milvus.db``), hash
    embedder; each test gets its own copy through ``hash_milvus_engine``."""
    pytest.importorskip("pymilvus")
    from rag.engine import RagEngine

    def build(index_dir: Path) -> None:
        settings = Settings(index_dir=index_dir, corpus=[SEEDS], embedder="hash", store="milvus")
        engine = RagEngine(settings, embedder=HashEmbedder())
        engine.build()
        engine.close()
        release_milvus_lite(index_dir)

    return built_once(tmp_path_factory, "hash-milvus", build)


def release_milvus_lite(index_dir: Path) -> None:
    """Stop this process's Milvus Lite server for ``index_dir`` (it holds the file's lock)."""
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(str(index_dir / "milvus.db"))


@pytest.fixture
def hash_milvus_engine(tmp_path: Path, hash_milvus_dir: Path):  # type: ignore[no-untyped-def]
    """Like ``hash_engine``, over a private copy of the Milvus Lite seed index."""
    from rag.engine import RagEngine

    index_dir = copy_index(hash_milvus_dir, tmp_path / "milvus-index")
    settings = Settings(index_dir=index_dir, corpus=[SEEDS], embedder="hash", store="milvus")
    engine = RagEngine(settings, embedder=HashEmbedder())
    yield engine
    engine.close()
    release_milvus_lite(index_dir)


@pytest.fixture(scope="session")
def e5_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed index built once per test session with the real bundled model."""
    from rag.engine import RagEngine

    index_dir = tmp_path_factory.mktemp("e5-index")
    RagEngine(Settings(index_dir=index_dir, corpus=[SEEDS])).build()
    return index_dir


@pytest.fixture(scope="session")
def e5_server(e5_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``rag serve`` with the real model over a copy of the seed index, token on every route."""
    root = tmp_path_factory.mktemp("e5-server")
    copy_index(e5_index_dir, root / "index")
    with live_server(root / "index", root / "serve.log") as server:
        yield server


@pytest.fixture
def e5_engine(e5_index_dir: Path):  # type: ignore[no-untyped-def]
    from rag.engine import RagEngine

    return RagEngine(Settings(index_dir=e5_index_dir, corpus=[SEEDS]))


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    """An OpenAI-compatible chat server on loopback, scripted by the test through the fake."""
    fake, server = start_fake_llm()
    # a short poll interval: shutdown() waits for the loop to notice (0.5 s by default)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    assert not fake.errors, fake.errors
