"""Backends: judges and tasks (registry, context, pricing); no Textual, no SQL."""
