"""Embeddings: text extraction, providers, vector spaces in pgvector, semantic search."""
