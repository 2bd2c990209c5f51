"""The `sentence-transformers` backend: plain sentence-transformers (PyTorch, fp32) with the packaged
weights. The reference the faster backends (`bf16`, `onnx`) are checked and benchmarked against."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import numpy as np

from resources import settings
from resources.embeddings.base import (
    LOCAL_DIMENSION,
    LOCAL_MAX_TOKENS,
    LOCAL_MODEL,
    Embedded,
    local_model_path,
    normalise,
)


class SentenceTransformerEmbedder:
    """The reference: plain sentence-transformers (PyTorch, fp32)."""

    provider = "sentence-transformers"

    def __init__(self, path: Path | None = None, max_tokens: int = LOCAL_MAX_TOKENS, batch_size: int = 32):
        settings.offline_models()
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" bars in every CLI call

        self.path = path or local_model_path()
        self.st = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        self.st.max_seq_length = max_tokens
        self.model = LOCAL_MODEL
        self.dimension = int(self.st.get_embedding_dimension() or LOCAL_DIMENSION)
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.tokenizer = self.st.tokenizer
        self._lock = threading.Lock()  # one forward pass at a time: torch already uses every core

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        encoded = self.tokenizer(list(texts), truncation=True, max_length=self.max_tokens)["input_ids"]
        return [len(ids) for ids in encoded]

    def embed(self, texts: Sequence[str]) -> Embedded:
        started = time.perf_counter()
        if not texts:
            return Embedded(np.zeros((0, self.dimension), np.float32), 0, 0.0)
        tokens = sum(self.token_lengths(texts))
        with self._lock:
            vectors = self.st.encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
        return Embedded(normalise(vectors), tokens, time.perf_counter() - started)

    def cost_usd(self, tokens: int) -> Decimal:
        return Decimal(0)
