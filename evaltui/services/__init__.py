"""Use cases: compare, rework (rejudge/rerun), ingest, config (no Textual)."""
