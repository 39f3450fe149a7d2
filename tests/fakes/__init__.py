"""Fake backends on 127.0.0.1 for offline tests: Anthropic (+ batches), OpenAI-compatible."""
