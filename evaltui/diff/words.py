"""Word-level differences between two outputs (pure; the screen colours them)."""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from enum import StrEnum

WORDS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)
DIFF_LIMIT = 20_000  # characters of each side that are diffed; the rest is shown as is


class Op(StrEnum):
    SAME = "same"
    DELETED = "deleted"  # only in the baseline
    INSERTED = "inserted"  # only in the candidate


def tokens(text: str) -> list[str]:
    return WORDS.findall(text)


def word_diff(baseline: str, candidate: str) -> tuple[list[tuple[Op, str]], list[tuple[Op, str]]]:
    """Both texts as runs of (op, text): the baseline's with deletions marked, the
    candidate's with insertions marked. Joined, each side gives back its text."""
    base_head, base_tail = baseline[:DIFF_LIMIT], baseline[DIFF_LIMIT:]
    cand_head, cand_tail = candidate[:DIFF_LIMIT], candidate[DIFF_LIMIT:]
    a, b = tokens(base_head), tokens(cand_head)
    left: list[tuple[Op, str]] = []
    right: list[tuple[Op, str]] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            left.append((Op.SAME, "".join(a[i1:i2])))
            right.append((Op.SAME, "".join(b[j1:j2])))
            continue
        if i2 > i1:
            left.append((Op.DELETED, "".join(a[i1:i2])))
        if j2 > j1:
            right.append((Op.INSERTED, "".join(b[j1:j2])))
    if base_tail:
        left.append((Op.SAME, base_tail))
    if cand_tail:
        right.append((Op.SAME, cand_tail))
    return left, right
