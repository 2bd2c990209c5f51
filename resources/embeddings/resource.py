"""Dagster's handle on the embedding provider (resources/embeddings/providers.py holds the
providers, so the ask service and the CLI embed without loading Dagster)."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from resources.embeddings.providers import LOCAL_MAX_TOKENS, Embedder, EmbedderConfig, get_embedder


class EmbeddingsResource(ConfigurableResource):
    """Which provider embeds tickets and ads (BURRY_EMBEDDING_PROVIDER, BURRY_EMBEDDING_MODEL)."""

    provider: str = Field(
        default="local",
        description=(
            "local (the packaged all-MiniLM-L6-v2 through the fastest backend for this CPU: bf16 or onnx), "
            "bf16, onnx, sentence-transformers (plain fp32, the reference), or openai."
        ),
    )
    model: str | None = Field(default=None, description="The provider's model; default its own.")
    max_tokens: int = Field(
        default=LOCAL_MAX_TOKENS, description="Texts are cut to this many tokens (local and its backends)."
    )

    def config(self) -> EmbedderConfig:
        return EmbedderConfig(provider=self.provider, model=self.model, max_tokens=self.max_tokens)

    def get_embedder(self) -> Embedder:
        """Loaded once per process (seconds), then reused."""
        return get_embedder(self.config())

    def space_identity(self) -> tuple[str, int]:
        """(model, dimension) of its vectors, without loading the model."""
        return self.config().space_identity()
