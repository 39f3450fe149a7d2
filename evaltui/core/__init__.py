"""Core: models, the pure run view, text safety, formatting, time and JSON helpers.

No IO and no Textual here; everything else imports down to it.
"""
