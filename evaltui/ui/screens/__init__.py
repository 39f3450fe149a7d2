"""Screens: they own state and IO (workers) and hand data to widgets.

Import each screen from its own module (`evaltui.ui.screens.runs`): this package imports none of
them, so opening the app pays only for the screens it shows (the diff screen brings numpy).
"""
