"""The benchmark behind ``rag eval`` (the ``[bench]`` extra): question sets, systems, metrics,
sweeps and the report."""

import importlib.util

# Import names of what the ``[bench]`` extra installs, checked before the benchmark is imported.
BENCH_MODULES = (
    "matplotlib",
    "langchain_core",
    "langchain_classic",
    "langchain_community",
    "langchain_text_splitters",
    "rank_bm25",
    "sklearn",
)


def missing_extra() -> str | None:
    """The first module of the ``[bench]`` extra that is not installed, or None."""
    return next((m for m in BENCH_MODULES if importlib.util.find_spec(m) is None), None)
