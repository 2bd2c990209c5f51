"""Prompt templates as plain Python: the sandboxed renderer, template files, and the number finder.

No Dagster and no database here: the prompt assets, the CLI and the ask service all use it.
"""
