"""Settings read from the environment (prefix ``RAG_``), cached and overridable in tests."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Fusion = Literal["rrf", "weighted"]
StoreKind = Literal["local", "milvus"]
Consistency = Literal["Strong", "Bounded", "Session", "Eventually"]


class Settings(BaseSettings):
    """Every tunable of the service; the README's settings table mirrors this class."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore")

    index_dir: Path = Path("index")
    corpus: Annotated[list[Path], NoDecode] = Field(default_factory=lambda: [Path("seeds")])
    embedder: str = "e5-small"
    # Texts per embedding call while indexing: the ONNX backend sorts a call's texts by length
    # so padding stays small, 64 gives 1.2x the tokens/s of 16 on the seeds (q4 graph).
    embed_batch_size: int = Field(default=64, ge=1, le=512)
    # How long the query micro-batcher lingers for more queries once they arrive together
    # (a lone query never waits); with 0 it still batches the queries that queued meanwhile.
    query_batch_wait_ms: float = Field(default=2.0, ge=0.0, le=100.0)
    # Queries per model call at most; 1 embeds every query in a call of its own, one at a
    # time, as the server did before it batched them.
    query_max_batch: int = Field(default=32, ge=1, le=256)

    store: StoreKind = "local"
    milvus_uri: str | None = None  # default: <index_dir>/milvus.db (Milvus Lite)
    milvus_token: str | None = None
    milvus_collection: str = Field(default="rag_zh", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,200}$")
    milvus_consistency: Consistency = "Strong"
    milvus_timeout: float = Field(default=10.0, gt=0)

    chunk_size: int = Field(default=200, ge=20, le=4000)
    chunk_overlap: int = Field(default=1, ge=0, le=5)

    fusion: Fusion = "rrf"
    rrf_k: int = Field(default=60, ge=1)
    dense_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    candidates: int = Field(default=50, ge=1, le=1000)

    max_question_chars: int = Field(default=1000, ge=1)
    # P(answer is right) below which the reader abstains; None: the threshold fitted with it
    abstain_threshold: float | None = Field(default=None, ge=0.0, le=1.0)

    api_token: str | None = None
    api_token_reads: bool = False
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    max_document_chars: int = Field(default=200_000, ge=1)
    # Bounds on a client that connects and stalls, so idle sockets cannot pile up (`rag serve`).
    header_timeout: float = Field(default=10.0, gt=0, le=3600)
    body_timeout: float = Field(default=30.0, gt=0, le=3600)
    max_connections: int = Field(default=100, ge=1, le=100_000)

    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = Field(default=30.0, gt=0)

    @field_validator("corpus", mode="before")
    @classmethod
    def _split_corpus(cls, value: object) -> object:
        # RAG_CORPUS holds several paths separated like PATH (":" on POSIX).
        if isinstance(value, str):
            import os

            return [Path(p) for p in value.split(os.pathsep) if p.strip()]
        return value

    @field_validator("api_token")
    @classmethod
    def _token_not_blank(cls, value: str | None) -> str | None:
        # An empty RAG_API_TOKEN= would otherwise turn authentication off without a word.
        if value is not None and not value.strip():
            raise ValueError(
                "empty or only white space; set a token, or unset the variable to serve "
                "without authentication"
            )
        return value

    @model_validator(mode="after")
    def _reads_need_a_token(self) -> Settings:
        if self.api_token_reads and self.api_token is None:
            raise ValueError("RAG_API_TOKEN_READS=1 needs RAG_API_TOKEN: no token is set")
        return self

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value


def settings_problem(exc: ValidationError) -> str:
    """One line naming the first invalid setting by its variable, for the CLI's error."""
    errors = exc.errors()
    loc = errors[0]["loc"] if errors else ()
    field = str(loc[0]) if loc else ""
    message = (errors[0]["msg"] if errors else "invalid value").removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"RAG_{field.upper()}: {message}{more}" if field else message + more


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after changing env."""
    return Settings()
