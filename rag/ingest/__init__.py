"""Ingestion, the first stage: files become articles made of numbered paragraphs with source
offsets (loaders and the newspaper-page parser), and paragraphs become the chunks the index
stores and the embedder sees."""
