"""Ingest: trace importers, the OTLP receiver and the sample trace writer."""
