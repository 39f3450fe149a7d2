"""Screens: they own state and IO (workers) and hand data to widgets."""

from evaltui.ui.screens.case import CaseScreen
from evaltui.ui.screens.derived import DerivedScreen
from evaltui.ui.screens.diff import DiffScreen
from evaltui.ui.screens.diff_case import DiffCaseScreen
from evaltui.ui.screens.help import HelpScreen
from evaltui.ui.screens.run import RunScreen
from evaltui.ui.screens.runs import RunsScreen
from evaltui.ui.screens.trace import TraceScreen
from evaltui.ui.screens.traces import TracesScreen

__all__ = [
    "CaseScreen",
    "DerivedScreen",
    "DiffCaseScreen",
    "DiffScreen",
    "HelpScreen",
    "RunScreen",
    "RunsScreen",
    "TraceScreen",
    "TracesScreen",
]
