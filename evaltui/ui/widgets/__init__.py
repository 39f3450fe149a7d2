"""Widgets: they show models and report user intent with messages; they know no SQL."""

from evaltui.ui.widgets.case_table import CaseTable

__all__ = ["CaseTable"]
