"""The YAML loader of :mod:`lineage.model.documents`: bounded nesting, and the size of a node graph
once its aliases are expanded. Imported with the first YAML document, so reading JSON never loads
PyYAML."""

from __future__ import annotations

from typing import Any

import yaml

from lineage.model.documents import TooDeepError


class BoundedLoader(yaml.SafeLoader):
    """A safe loader that refuses documents nested deeper than ``max_nesting`` while composing."""

    def __init__(self, stream: str, max_nesting: int) -> None:
        super().__init__(stream)
        self.max_nesting = max_nesting
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > self.max_nesting + 1:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise TooDeepError(
                    f"line {mark.line + 1}: nested deeper than {self.max_nesting} levels",
                    details={"line": mark.line + 1, "limit": self.max_nesting},
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def expanded_size(root: yaml.Node, limit: int) -> int:
    """How many nodes the document holds once every alias is expanded (stops counting past
    ``limit``). A node that contains itself through an alias counts as unbounded."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            sizes[key] = min(1 + sum(sizes[id(c)] for c in _children(node)), limit + 1)
            visiting.discard(key)
            continue
        if key in sizes:
            continue
        if key in visiting:
            return limit + 1
        visiting.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []
