"""The command line: `evaltui` and its subcommands."""
