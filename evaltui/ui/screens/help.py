"""HelpScreen: every key of the screen underneath, from its live bindings."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def key_table(screen: Screen[object]) -> Table:
    """A table of (keys, action) for every binding active on `screen`."""
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
    table.add_column(style="bold")
    table.add_column()
    seen: dict[str, list[str]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.description or binding.id is None:
            continue
        display = screen.app.get_key_display(binding)
        text = binding.tooltip or binding.description
        seen.setdefault(text, [])
        if display not in seen[text]:
            seen[text].append(display or key)
    for description, keys in seen.items():
        table.add_row(Text(" ".join(keys)), Text(description))
    return table


class HelpScreen(ModalScreen[None]):
    """Keys of the current screen. Escape, q or ? closes it."""

    CSS_PATH = "help.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close help", id="help.close"),
    ]

    def __init__(self, target: Screen[object], title: str) -> None:
        super().__init__()
        self.target = target
        self.title_text = title

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(Text(f"Keys: {self.title_text}", style="bold"), id="help-title")
            yield Static(key_table(self.target), id="help-keys")
            yield Static(Text("Escape, q or ? closes this help.", style="dim"), id="help-hint")
