"""What a span tree shows: expanded nodes flattened into rows, long child lists paged.

Pure logic (no Textual): the widget draws `rows` line by line, so a 10,000-span trace costs
only the rows that are expanded, and one parent with 5,000 children shows them a page at a
time behind a "more" row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from evaltui.traces.models import SpanNode
from evaltui.traces.tree import walk

CHILD_PAGE = 200


@dataclass(frozen=True, slots=True)
class OutlineRow:
    """A span (node), or a "N more" row for `parent`'s hidden children (node None)."""

    node: SpanNode | None = field(repr=False)
    depth: int
    parent: SpanNode | None = field(default=None, repr=False)
    hidden: int = 0


class Outline:
    """Expansion state of one trace's tree and its flattened rows."""

    def __init__(self, roots: Sequence[SpanNode], page: int = CHILD_PAGE) -> None:
        self.roots = list(roots)
        self.page = page
        self.expanded: set[int] = set()
        self.shown: dict[int | None, int] = {}  # children shown per parent (None: the roots)
        self.parents: dict[int, SpanNode] = {}
        for node in walk(self.roots):
            for child in node.children:
                self.parents[id(child)] = node
        self.rows: list[OutlineRow] = []
        self.rebuild()

    def _limit(self, parent: SpanNode | None) -> int:
        return self.shown.get(None if parent is None else id(parent), self.page)

    def rebuild(self) -> None:
        """Recompute the rows (cost: the number of rows shown)."""
        rows: list[OutlineRow] = []
        stack: list[tuple[Sequence[SpanNode], int, SpanNode | None, int]] = [
            (self.roots, 0, None, 0)
        ]
        while stack:
            siblings, start, parent, depth = stack.pop()
            limit = self._limit(parent)
            for i in range(start, min(len(siblings), limit)):
                node = siblings[i]
                rows.append(OutlineRow(node, depth))
                if node.children and id(node) in self.expanded:
                    stack.append((siblings, i + 1, parent, depth))
                    stack.append((node.children, 0, node, depth + 1))
                    break
            else:
                if len(siblings) > limit:
                    rows.append(OutlineRow(None, depth, parent, len(siblings) - limit))
        self.rows = rows

    def toggle(self, node: SpanNode) -> None:
        if id(node) in self.expanded:
            self.expanded.discard(id(node))
        elif node.children:
            self.expanded.add(id(node))
        self.rebuild()

    def is_expanded(self, node: SpanNode) -> bool:
        return id(node) in self.expanded

    def collapse(self, node: SpanNode) -> None:
        self.expanded.discard(id(node))
        self.rebuild()

    def expand_all(self) -> None:
        self.expanded = {id(node) for node in walk(self.roots) if node.children}
        self.rebuild()

    def collapse_all(self) -> None:
        self.expanded.clear()
        self.rebuild()

    def show_more(self, parent: SpanNode | None) -> None:
        key = None if parent is None else id(parent)
        self.shown[key] = self._limit(parent) + self.page
        self.rebuild()

    def parent_of(self, node: SpanNode) -> SpanNode | None:
        return self.parents.get(id(node))

    def reveal(self, node: SpanNode) -> int:
        """Expand the node's ancestors and page its siblings in; return its row."""
        chain: list[SpanNode] = []
        current: SpanNode | None = node
        while current is not None:
            chain.append(current)
            current = self.parent_of(current)
        for child in chain:
            parent = self.parent_of(child)
            if parent is not None:
                self.expanded.add(id(parent))
            siblings = parent.children if parent is not None else self.roots
            position = siblings.index(child)
            key = None if parent is None else id(parent)
            if position >= self._limit(parent):
                self.shown[key] = (position // self.page + 1) * self.page
        self.rebuild()
        return self.row_of(node)

    def row_of(self, node: SpanNode) -> int:
        return next(i for i, row in enumerate(self.rows) if row.node is node)
