"""The benchmark behind ``rag eval``: question sets, systems, metrics, sweeps and the report."""
