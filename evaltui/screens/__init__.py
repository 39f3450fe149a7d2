"""Screens: they own state and IO (workers) and hand data to widgets."""

from evaltui.screens.case import CaseScreen
from evaltui.screens.derived import DerivedScreen
from evaltui.screens.diff import DiffScreen
from evaltui.screens.diff_case import DiffCaseScreen
from evaltui.screens.help import HelpScreen
from evaltui.screens.run import RunScreen
from evaltui.screens.runs import RunsScreen
from evaltui.screens.trace import TraceScreen
from evaltui.screens.traces import TracesScreen

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
