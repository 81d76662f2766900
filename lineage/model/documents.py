"""Rules every parsed document obeys, whatever the channel: bounded nesting, real Unicode text, and
YAML whose aliases cannot expand into more than a small document.

JSON and YAML bodies arrive through GraphQL variables, OpenLineage events and batches, batch files
and policy files. Each is checked once, right after parsing and before any other validation:

- nesting deeper than :data:`MAX_NESTING` is refused (a thousand-deep body would otherwise exhaust
  the interpreter's recursion in some later step);
- a string (value or key) holding a lone UTF-16 surrogate is refused: it is valid JSON
  (``"\\ud800"``) but not text, cannot be stored as UTF-8, and would fail a whole write late;
- YAML aliases are expanded in the count: a document whose anchors and aliases would expand to more
  than :data:`MAX_YAML_NODES` nodes (a "billion laughs" bomb is 400 bytes) is refused before it is
  built or walked.

Every refusal is a :class:`~lineage.errors.BadInputError` (LimitExceededError for an alias bomb)
naming where.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from lineage.errors import LimitExceededError, MalformedRequestError

if TYPE_CHECKING:
    import yaml

#: Deepest nesting of objects and arrays accepted in any document.
MAX_NESTING = 100
#: Most YAML nodes a document may hold once its aliases are expanded.
MAX_YAML_NODES = 100_000

_SURROGATE = re.compile("[\ud800-\udfff]")


class NotTextError(MalformedRequestError):
    """A string is not a sequence of Unicode scalar values (it holds a lone surrogate)."""


class TooDeepError(MalformedRequestError):
    """A document nests objects and arrays deeper than the limit."""


def bad_text(value: str) -> int | None:
    """The index of the first lone surrogate in ``value``, or None when it is proper text."""
    if value.isascii():
        return None
    found = _SURROGATE.search(value)
    return found.start() if found else None


def check_text(value: str, where: str) -> str:
    """``value`` when it is proper Unicode text; NotTextError naming ``where`` otherwise."""
    at = bad_text(value)
    if at is not None:
        raise NotTextError(_not_text(where, value, at), details={"element": where, "rule": "unicode"})
    return value


def _not_text(where: str, value: str, at: int) -> str:
    return (
        f"{where or 'the document'}: text is not valid Unicode (lone surrogate U+{ord(value[at]):04X} at "
        f"character {at}); send UTF-8 text"
    )


def check_document(value: Any, where: str = "", *, max_nesting: int = MAX_NESTING) -> Any:
    """``value`` (parsed JSON or YAML) when its nesting is bounded and all its strings are text.

    Raises LimitExceededError (too deep) or NotTextError (a lone surrogate), naming the path. Linear
    in the size of the document; no recursion.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if bad_text(item) is not None:
                _raise_at(value, where, max_nesting)
        elif isinstance(item, dict):
            if depth >= max_nesting:
                _raise_at(value, where, max_nesting)
            for key, child in item.items():
                if isinstance(key, str) and bad_text(key) is not None:
                    _raise_at(value, where, max_nesting)
                stack.append((child, depth + 1))
        elif isinstance(item, list | tuple):
            if depth >= max_nesting:
                _raise_at(value, where, max_nesting)
            stack.extend((child, depth + 1) for child in item)
    return value


def _raise_at(value: Any, where: str, max_nesting: int) -> None:
    """Find the first offending element again, this time with its path, and raise for it."""
    stack: list[tuple[Any, int, str]] = [(value, 0, where)]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, str):
            at = bad_text(item)
            if at is not None:
                raise NotTextError(_not_text(path, item, at), details={"element": path, "rule": "unicode"})
            continue
        children: list[tuple[Any, str]] = []
        if isinstance(item, dict):
            for key, child in item.items():
                label = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and (at := bad_text(key)) is not None:
                    raise NotTextError(
                        _not_text(f"a key in {path or 'the document'}", key, at),
                        details={"element": path, "rule": "unicode"},
                    )
                children.append((child, label))
        elif isinstance(item, list | tuple):
            children = [(child, f"{path}[{i}]") for i, child in enumerate(item)]
        else:
            continue
        if depth >= max_nesting:
            raise TooDeepError(
                f"{path or 'the document'}: nested deeper than {max_nesting} levels of objects and arrays",
                details={"element": path, "limit": max_nesting},
            )
        stack.extend((child, depth + 1, label) for child, label in reversed(children))


def loads_json(text: str | bytes, where: str = "", *, max_nesting: int = MAX_NESTING, **options: Any) -> Any:
    """``json.loads(text, **options)`` plus :func:`check_document`; a body too deep even to parse is
    refused too. ``json.JSONDecodeError`` and ``UnicodeDecodeError`` propagate for the caller to word.
    """
    try:
        value = json.loads(text, **options)
    except RecursionError:
        raise TooDeepError(
            f"{where or 'the document'}: nested deeper than {max_nesting} levels of objects and arrays",
            details={"limit": max_nesting},
        ) from None
    return check_document(value, where, max_nesting=max_nesting)


# -- YAML ---------------------------------------------------------------------------------------
# PyYAML is imported with the first YAML document (lineage.model.yaml_loader), not by every
# command that validates JSON.


def compose_yaml(
    text: str, *, max_nesting: int = MAX_NESTING, max_nodes: int = MAX_YAML_NODES
) -> yaml.Node | None:
    """The YAML node graph of ``text``, refused when too deep or when its aliases expand too far.

    ``yaml.YAMLError`` propagates (with its mark) for the caller to word; too deep is TooDeepError,
    an alias bomb LimitExceededError.
    """
    from lineage.model.yaml_loader import BoundedLoader, expanded_size

    loader = BoundedLoader(text, max_nesting)
    try:
        root: yaml.Node | None = loader.get_single_node()
    except RecursionError:
        raise TooDeepError(f"nested deeper than {max_nesting} levels", details={"limit": max_nesting}) from None
    finally:
        loader.dispose()
    if root is not None and expanded_size(root, max_nodes) > max_nodes:
        raise LimitExceededError(
            f"the YAML document expands to more than {max_nodes} values through its anchors and aliases; "
            "write the values out instead of repeating aliases",
            details={"limit": max_nodes},
        )
    return root


def construct_yaml(root: yaml.Node | None) -> Any:
    """The Python value of a node graph made by :func:`compose_yaml` (safe types only), checked."""
    if root is None:
        return None
    import yaml

    loader = yaml.SafeLoader("")
    try:
        value = loader.construct_document(root)
    finally:
        loader.dispose()
    return check_document(value)


def load_yaml(text: str, *, max_nesting: int = MAX_NESTING, max_nodes: int = MAX_YAML_NODES) -> Any:
    """``yaml.safe_load`` within the limits of :func:`compose_yaml` and :func:`check_document`."""
    return construct_yaml(compose_yaml(text, max_nesting=max_nesting, max_nodes=max_nodes))
