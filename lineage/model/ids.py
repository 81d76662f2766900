"""Stable, readable node and edge ids.

A node id is ``<kind>:<namespace>/<name>[@<version>]``, for example
``dataset:warehouse/orders.clean@v7``, ``run:ci/train-churn@1234`` or ``deployment:prod/churn-api``.
The same (kind, namespace, name, version) always gives the same id. Characters with a meaning in
the id are percent-escaped in the parts that may not hold them: ``%``, ``@`` and whitespace (any
Unicode space, so an id never contains one and edge ids split cleanly) everywhere, ``/`` in the
namespace, so ``postgres://db:5432`` becomes ``postgres:%2F%2Fdb:5432``.

An edge id is ``<from> -<TYPE>-> <to>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from lineage.model.kinds import EdgeType, NodeKind

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SPACE = re.compile(r"\s")
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")
_EDGE_ID = re.compile(r"^(?P<src>\S+) -(?P<type>[A-Z_]+)-> (?P<dst>\S+)$")
MAX_PART = 512
_BY_PREFIX = {kind.prefix: kind for kind in NodeKind}


def _escape_space(match: re.Match[str]) -> str:
    return "".join(f"%{b:02X}" for b in match.group().encode())


def _escape(text: str, extra: str = "") -> str:
    out = text.replace("%", "%25").replace("@", "%40")
    if "/" in extra:
        out = out.replace("/", "%2F")
    return _SPACE.sub(_escape_space, out)


def _unescape(text: str) -> str:
    return unquote(text)


def check_part(label: str, value: str) -> str:
    """Validate one id part; raise ValueError saying what is wrong."""
    if not value or not value.strip():
        raise ValueError(f"{label} must not be empty")
    if len(value) > MAX_PART:
        raise ValueError(f"{label} is longer than {MAX_PART} characters")
    if _CONTROL.search(value):
        raise ValueError(f"{label} must not contain control characters")
    return value


def node_id(kind: NodeKind, namespace: str, name: str, version: str | None) -> str:
    base = f"{kind.prefix}:{_escape(namespace, '/')}/{_escape(name)}"
    return f"{base}@{_escape(version)}" if version is not None else base


@dataclass(frozen=True, slots=True)
class NodeKey:
    """The parts a node id is made of."""

    kind: NodeKind
    namespace: str
    name: str
    version: str | None

    @property
    def id(self) -> str:
        return node_id(self.kind, self.namespace, self.name, self.version)


def parse_node_id(text: str) -> NodeKey:
    """Split a node id into its parts; raise ValueError with the expected shape when malformed."""
    shape = "expected <kind>:<namespace>/<name>[@<version>], e.g. dataset:warehouse/orders@v7"
    if not isinstance(text, str) or ":" not in text:
        raise ValueError(f"malformed node id {text!r}: {shape}")
    prefix, rest = text.split(":", 1)
    kind = _BY_PREFIX.get(prefix)
    if kind is None:
        try:
            NodeKind.parse(prefix)
        except ValueError as exc:
            raise ValueError(f"malformed node id {text!r}: {exc}") from None
        raise ValueError(f"malformed node id {text!r}: {shape}")  # a kind, but not its canonical prefix
    if _SPACE_OR_CONTROL.search(rest) or "/" not in rest:
        raise ValueError(f"malformed node id {text!r}: {shape}")
    if "%" not in rest:
        return _parse_plain(text, kind, rest, shape)
    ns, rest = rest.split("/", 1)
    version: str | None = None
    if "@" in rest:
        rest, ver = rest.split("@", 1)
        version = _unescape(ver)
    if not ns or not rest or (version is not None and not version):
        raise ValueError(f"malformed node id {text!r}: {shape}")
    if kind.versioned and version is None:
        raise ValueError(f"malformed node id {text!r}: a {kind.value} id needs an @<version> part")
    if not kind.versioned and version is not None:
        raise ValueError(f"malformed node id {text!r}: a {kind.value} id has no version part")
    key = NodeKey(kind, _unescape(ns), _unescape(rest), version)
    if any(_CONTROL.search(part) for part in (key.namespace, key.name, key.version or "")):
        raise ValueError(f"malformed node id {text!r}: escaped control characters are not allowed")
    if key.id != text:
        raise ValueError(f"malformed node id {text!r}: not in canonical form, expected {key.id!r}")
    return key


def _parse_plain(text: str, kind: NodeKind, rest: str, shape: str) -> NodeKey:
    """``parse_node_id`` for an id without escapes, the usual case: the parts are the text itself.

    Without ``%`` nothing needs unescaping, the parts hold no control characters or whitespace
    (checked on the whole text), and the id is canonical unless the namespace or the version holds
    an ``@`` (the name cannot: it ends at the first one).
    """
    ns, rest = rest.split("/", 1)
    version: str | None = None
    if "@" in rest:
        rest, version = rest.split("@", 1)
    if not ns or not rest or (version is not None and not version):
        raise ValueError(f"malformed node id {text!r}: {shape}")
    if kind.versioned and version is None:
        raise ValueError(f"malformed node id {text!r}: a {kind.value} id needs an @<version> part")
    if not kind.versioned and version is not None:
        raise ValueError(f"malformed node id {text!r}: a {kind.value} id has no version part")
    key = NodeKey(kind, ns, rest, version)
    if "@" in ns or (version is not None and "@" in version):
        raise ValueError(f"malformed node id {text!r}: not in canonical form, expected {key.id!r}")
    return key


def edge_id(src: str, edge_type: EdgeType, dst: str) -> str:
    return f"{src} -{edge_type.value}-> {dst}"


def parse_edge_id(text: str) -> tuple[str, EdgeType, str]:
    match = _EDGE_ID.match(text.strip())
    if not match:
        raise ValueError(f"malformed edge id {text!r}: expected '<from-id> -<TYPE>-> <to-id>'")
    parse_node_id(match["src"])
    parse_node_id(match["dst"])
    return match["src"], EdgeType.parse(match["type"]), match["dst"]


def is_edge_id(text: str) -> bool:
    """Whether the text is meant as an edge id: node ids hold no whitespace (it is escaped), so an
    edge id is told apart by its spaced arrow; a node named ``a->b`` is still a node."""
    return bool(_SPACE.search(text.strip())) and "->" in text
