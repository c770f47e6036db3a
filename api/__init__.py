"""The HTTP service over :mod:`rag`: a FastAPI app built by :func:`api.app.create_app`.

Importing this package is cheap; the index and the embedding model load in the app's lifespan.
"""
