"""The report's header names the commit it measured, and says when the tree differed."""

from __future__ import annotations

import subprocess
from pathlib import Path

from rag.bench.environment import cpu_model, git_revision


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_only_changes_outside_the_report_mark_the_revision_dirty(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "eval").mkdir()
    for name in ("code.py", "eval/REPORT.md", "eval/report_latency.png", "eval/other.png"):
        (tmp_path / name).write_text("v1\n", encoding="utf-8")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "v1")
    report = tmp_path / "eval" / "REPORT.md"

    clean = git_revision(tmp_path, report)
    assert clean and not clean.endswith("+dirty") and clean != "unknown"

    # Re-running the benchmark rewrites the report and its figures: still the same code.
    report.write_text("v2\n", encoding="utf-8")
    (tmp_path / "eval" / "report_latency.png").write_text("v2\n", encoding="utf-8")
    assert git_revision(tmp_path, report) == clean
    assert git_revision(tmp_path) == clean + "+dirty"

    (tmp_path / "eval" / "other.png").write_text("v2\n", encoding="utf-8")
    assert git_revision(tmp_path, report) == clean + "+dirty"


def test_the_cpu_is_named_with_its_widest_vector_extension(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse avx2 avx512f avx512_vnni\n"
        "processor\t: 1\nmodel name\t: Some CPU\nflags\t\t: fpu sse avx2 avx512f avx512_vnni\n"
    )
    assert cpu_model(info) == "Some CPU, AVX-512 VNNI"
    info.write_text("model name\t: Older CPU\nflags\t\t: fpu sse avx2\n")
    assert cpu_model(info) == "Older CPU, AVX2"
    assert cpu_model(tmp_path / "missing") == "unknown"
