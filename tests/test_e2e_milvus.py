"""The whole seed pipeline on Milvus Lite with the real model, through the real CLI processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.engine import RagEngine
from rag.index.local import CACHE_FILE
from tests.conftest import ROOT, SEEDS

pytest.importorskip("pymilvus")
pytestmark = pytest.mark.e2e

QUESTION = "光谷瞪羚企业累计达到多少家？"


def _rag(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
        check=False,
    )


def test_rag_index_then_rag_ask_on_milvus_lite_cites_like_the_local_store(
    tmp_path: Path, e5_engine: RagEngine, e5_index_dir: Path
) -> None:
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    # The local build's embedding cache: the same texts are not embedded again.
    shutil.copy(e5_index_dir / CACHE_FILE, index_dir / CACHE_FILE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env |= {
        "RAG_STORE": "milvus",
        "RAG_MILVUS_URI": str(tmp_path / "m.db"),
        "RAG_INDEX_DIR": str(index_dir),
    }
    built = _rag(env, "index", "--corpus", str(SEEDS))
    assert built.returncode == 0, built.stderr
    asked = _rag(env, "ask", QUESTION, "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert "1690家" in answer["answer"]
    local = e5_engine.ask(QUESTION).to_json()
    assert answer["citations"] == local["citations"]
    assert (tmp_path / "m.db").is_dir()
