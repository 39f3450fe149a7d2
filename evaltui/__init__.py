"""evaltui: a keyboard-driven terminal app to triage LLM and agent evaluations."""

__version__ = "0.1.0"
