"""The index, the second stage: embeddings of chunks (backends and a content-hash cache), the
``Store`` seam the engine reads and writes through, and the local store behind it (SQLite as the
source of truth, FAISS for vectors, BM25 statistics kept incrementally)."""
