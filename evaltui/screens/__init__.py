"""Screens: they own state and IO (workers) and hand data to widgets."""

from evaltui.screens.case import CaseScreen
from evaltui.screens.help import HelpScreen
from evaltui.screens.run import RunScreen
from evaltui.screens.runs import RunsScreen

__all__ = ["CaseScreen", "HelpScreen", "RunScreen", "RunsScreen"]
