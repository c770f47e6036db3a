"""Domain errors: each carries one line a user can act on; the CLI and API map them."""


class RagError(Exception):
    """Base class for errors caused by input or state, never by a bug."""


class CorpusError(RagError):
    """A corpus path is missing, empty, unreadable, not UTF-8 or malformed."""


class IndexNotFoundError(RagError):
    """No index has been built at the given directory."""


class IndexCorruptError(RagError):
    """The index directory exists but cannot be loaded."""


class IndexMismatchError(RagError):
    """The index was built with another embedder or chunking than configured."""


class InvalidQueryError(RagError):
    """A question or query is empty, blank or too long."""


class DocumentNotFoundError(RagError):
    """No document with the given id is in the index."""


class EmbedderError(RagError):
    """The configured embedding backend cannot be loaded."""


class DocumentLoadError(CorpusError):
    """One file cannot be read: corrupt, encrypted, empty, a zip bomb, or without any text."""


class UnsupportedDocumentError(DocumentLoadError):
    """A file's format is not one the loaders read (or needs an extra that is not installed)."""


class StoreUnavailableError(RagError):
    """The configured store (a Milvus server or file) cannot be reached or refused access."""
