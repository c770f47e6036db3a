"""The cores this process may run on: what the model's and FAISS's thread pools are sized to."""

from __future__ import annotations

import os
from functools import lru_cache


@lru_cache(maxsize=1)
def cores() -> int:
    """Cores in this process's CPU affinity (all of the machine's where that is not known)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
