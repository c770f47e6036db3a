"""Offline Chinese semantic search and question answering with exact paragraph citations.

Importing this package is cheap: models, indexes and tokenizer dictionaries load lazily.
"""

__version__ = "0.1.0"
