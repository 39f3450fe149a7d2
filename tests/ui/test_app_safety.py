"""The app's own safety nets: every toast printable, whichever screen sends it."""

from __future__ import annotations

from pathlib import Path

from textual.message import Message
from textual.notifications import Notify

from tests.ui.helpers import make_app, settle


async def test_every_toast_is_printable_whichever_screen_sends_it(real_store: Path) -> None:
    messages: list[Message] = []
    app = make_app(real_store)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await settle(pilot)
        # as a screen's worker does with the text of an error that quotes a stored value
        app.screen.notify(
            "Could not decode to UTF-8 column 'output' with text '\x1b]0;PWNED\x07\x9b\ud800'",
            title="Cannot \x1b[2Jread",
            severity="error",
            markup=False,
        )
        await settle(pilot)
    (toast,) = {id(m): m.notification for m in messages if isinstance(m, Notify)}.values()
    assert toast.message.endswith("'\u241b]0;PWNED\u2407\\x9b\ufffd'")
    assert toast.title == "Cannot \u241b[2Jread"
