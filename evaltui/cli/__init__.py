"""The command line: `evaltui` and its subcommands (`evaltui.cli:main`, the console script)."""

from evaltui.cli.main import main

__all__ = ["main"]
