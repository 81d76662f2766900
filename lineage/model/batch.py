"""What a registration carries: nodes and edges, validated as a whole before anything is written.

The JSON Schema of :class:`Batch` (``lineage schema batch``) documents the file format of
``lineage register --file``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cached_property
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import to_jsonable_python

from lineage.errors import ValidationError
from lineage.model.documents import check_document
from lineage.model.ids import check_part, node_id, parse_node_id
from lineage.model.kinds import EdgeType, NodeKind

RUN_STATES = ("START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "OTHER")
OWNER_MAX_LENGTH = 200
_OWNER_TEXT = r"[^\x00-\x1f]+"
Owner = Annotated[str, Field(min_length=1, max_length=OWNER_MAX_LENGTH, pattern=f"^{_OWNER_TEXT}$")]
_OWNER_RE = re.compile(_OWNER_TEXT)


def valid_owner(value: Any) -> bool:
    """Whether ``value`` passes the :data:`Owner` type's rules as it is (no conversion needed)."""
    return type(value) is str and len(value) <= OWNER_MAX_LENGTH and _OWNER_RE.fullmatch(value) is not None


def as_utc(value: datetime | None) -> datetime | None:
    """Naive datetimes are taken as UTC; everything is stored in UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_properties(value: dict[str, Any]) -> dict[str, Any]:
    """Properties as the plain JSON they are stored as, so a repeat compares equal to what was stored.

    YAML dates and times become ISO strings, non-string keys become strings; NaN and infinities are
    refused (JSON has no spelling for them, and NaN never equals itself, which would turn every
    repeat of the batch into a new revision).
    """
    if not value:
        return value
    try:
        text = json.dumps(to_jsonable_python(value), allow_nan=False, sort_keys=True)
    except ValueError:
        raise ValueError("properties must be JSON values; NaN and Infinity are not allowed") from None
    except Exception as exc:
        raise ValueError(f"properties must be JSON values: {exc}") from None
    out: dict[str, Any] = json.loads(text)
    return out


def plain_json(value: Any) -> bool:
    """Whether ``value`` is already plain JSON as properties are stored (exact JSON types, finite
    numbers, string keys), so :func:`json_properties` would give it back equal."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        return all(type(k) is str and plain_json(v) for k, v in value.items())
    if kind is list:
        return all(plain_json(v) for v in value)
    return False


class NodeSpec(BaseModel):
    """One node to register. Its id is derived from kind, namespace, name and version."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    kind: NodeKind
    namespace: str = Field(description="Where the thing lives: a warehouse, a job namespace, an environment.")
    name: str = Field(description="The thing's name within its namespace (job name for a Run).")
    version: str | None = Field(
        default=None,
        validate_default=True,
        description="Dataset/Feature/Model version, commit sha for a CodeCommit, run id for a Run; "
        "absent for a Deployment.",
    )
    event_time: datetime | None = Field(default=None, description="When it happened, if known.")
    owners: list[Owner] = Field(default_factory=list, description="People or teams to notify.")
    properties: dict[str, Any] = Field(default_factory=dict, description="Free-form, JSON values.")

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        return NodeKind.parse(value) if isinstance(value, str) else value

    @field_validator("namespace", "name", "version", mode="before")
    @classmethod
    def _integer_text(cls, value: Any, info: Any) -> Any:
        """YAML reads ``version: 1`` as an integer: keep it as the text "1" (as lineage.yaml does).

        A float is refused: YAML turns ``1.10`` into 1.1, so the written version would be lost.
        """
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            raise ValueError(f"{info.field_name} {value!r} was read as a number; quote it to keep it as written")
        return value

    @field_validator("namespace", "name")
    @classmethod
    def _parts(cls, value: str, info: Any) -> str:
        return check_part(info.field_name, value)

    @field_validator("event_time")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return as_utc(value)

    # Field validators (not a model validator) so that errors are located at the field:
    # ``nodes[1].version``, ``nodes[2].properties``. ``kind`` is declared first, so it is in
    # ``info.data`` unless it was itself invalid (then that error is reported instead).

    @field_validator("version")
    @classmethod
    def _version_rules(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind")
        if not isinstance(kind, NodeKind):
            return value
        if kind.versioned:
            if value is None:
                what = "run id" if kind is NodeKind.RUN else "version"
                raise ValueError(f"a {kind.value} needs a {what} (field 'version')")
            check_part("version", value)
        elif value is not None:
            raise ValueError(f"a {kind.value} has no version; remove field 'version'")
        return value

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        value = json_properties(value)
        status = value.get("status")
        if info.data.get("kind") is NodeKind.RUN and status is not None and status not in RUN_STATES:
            raise ValueError(f"run status {status!r} is not one of {', '.join(RUN_STATES)}")
        return value

    @cached_property
    def id(self) -> str:
        """The node id (computed once: registration asks for it several times per node)."""
        return node_id(self.kind, self.namespace, self.name, self.version)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> NodeSpec:
        copy = super().model_copy(update=update, deep=deep)
        copy.__dict__.pop("id", None)  # the id of the copy is its own
        return copy


class EdgeSpec(BaseModel):
    """One provenance edge, from cause to effect, between two node ids."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    source: str = Field(alias="from", description="Node id the data flows from.")
    type: EdgeType
    target: str = Field(alias="to", description="Node id the data flows to.")
    event_time: datetime | None = None
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        return EdgeType.parse(value) if isinstance(value, str) else value

    @field_validator("source", "target")
    @classmethod
    def _ids(cls, value: str) -> str:
        parse_node_id(value)
        return value

    @field_validator("event_time")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return as_utc(value)

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: dict[str, Any]) -> dict[str, Any]:
        return json_properties(value)

    @property
    def id(self) -> str:
        return f"{self.source} -{self.type.value}-> {self.target}"


class Batch(BaseModel):
    """A registration: applied whole or not at all."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    nodes: list[NodeSpec] = Field(default_factory=list)
    edges: list[EdgeSpec] = Field(default_factory=list)

    def __len__(self) -> int:
        return len(self.nodes) + len(self.edges)


def describe_errors(exc: PydanticValidationError, prefix: str = "") -> str:
    """Pydantic errors as 'nodes[3].version: message' lines, naming each bad element."""
    lines = []
    for err in exc.errors()[:20]:
        loc = prefix
        for part in err["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{loc or 'batch'}: {msg}")
    more = len(exc.errors()) - 20
    if more > 0:
        lines.append(f"... and {more} more")
    return "; ".join(lines)


def parse_batch(data: Any) -> Batch:
    """Validate raw JSON/YAML data as a Batch; raise ValidationError naming every bad element.

    The models build their validators on first use, which costs a short command such as ``lineage
    register --file`` more than the rest of its work. Until they are built, a small batch already in
    the form validation would give it (the usual file: text parts, plain JSON properties, no times)
    is checked by :func:`plain_batch` instead; anything else goes through full validation and its
    errors. Once built, pydantic's validation is the faster of the two.
    """
    if not isinstance(data, dict):
        raise ValidationError("a batch must be an object with 'nodes' and/or 'edges' lists")
    check_document(data)
    if not Batch.__pydantic_complete__ and _size(data) <= QUICK_MAX:
        plain = plain_batch(data)
        if plain is not None:
            return plain
    try:
        return Batch.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationError(f"invalid batch: {describe_errors(exc)}") from None


# -- Batches already in validated form ------------------------------------------------------------
#
# What full validation would give for a document whose every part is already in its final form,
# built without pydantic's validators. Each rule below mirrors one of the models' validators above;
# a document these checks do not accept whole goes through full validation instead (so the errors
# are always pydantic's). A property test keeps the two in agreement.

#: Most nodes plus edges checked by :func:`plain_batch` (or dumped by :func:`plain_document`)
#: before the models are built: beyond that, building them costs less than the Python checks.
QUICK_MAX = 1_000
_NODE_FIELDS = frozenset(NodeSpec.model_fields)
#: Edges by their file names: ``from`` and ``to`` (``source`` and ``target`` take the full path).
_EDGE_KEYS = frozenset({"from", "type", "to", "event_time", "properties"})
_EDGE_FIELDS = {"from": "source", "to": "target"}


def _size(data: dict[str, Any]) -> int:
    return sum(len(v) for k in ("nodes", "edges") if type(v := data.get(k)) is list)


def plain_batch(data: dict[str, Any]) -> Batch | None:
    """The Batch :meth:`Batch.model_validate` would make of ``data``, when every element of it is
    already in validated form; None when anything needs converting or would fail validation."""
    if not data.keys() <= {"nodes", "edges"}:
        return None
    nodes = data.get("nodes", [])
    edges = data.get("edges", [])
    if type(nodes) is not list or type(edges) is not list:
        return None
    node_specs = []
    for item in nodes:
        node = _plain_node(item)
        if node is None:
            return None
        node_specs.append(node)
    edge_specs = []
    for item in edges:
        edge = _plain_edge(item)
        if edge is None:
            return None
        edge_specs.append(edge)
    return Batch.model_construct(set(data), nodes=node_specs, edges=edge_specs)


def _plain_text(value: Any) -> str | None:
    """A text part as ``_integer_text`` leaves it (an integer becomes its text); None otherwise."""
    if type(value) is str:
        return value
    if type(value) is int:
        return str(value)
    return None


def _plain_properties(value: Any) -> dict[str, Any] | None:
    if type(value) is not dict or not plain_json(value):
        return None
    return json_properties(dict(value))


def _plain_node(item: Any) -> NodeSpec | None:
    if type(item) is not dict or not item.keys() <= _NODE_FIELDS or item.get("event_time") is not None:
        return None
    kind_text = item.get("kind")
    namespace = _plain_text(item.get("namespace"))
    name = _plain_text(item.get("name"))
    version = item.get("version")
    owners = item.get("owners", [])
    properties = _plain_properties(item.get("properties", {}))
    if (
        type(kind_text) is not str
        or namespace is None
        or name is None
        or type(owners) is not list
        or properties is None
    ):
        return None
    if version is not None and (version := _plain_text(version)) is None:
        return None
    try:
        kind = NodeKind.parse(kind_text)
    except ValueError:
        return None
    return prevalidated_node(kind, namespace, name, version, list(owners), properties, fields_set=set(item))


def prevalidated_node(
    kind: NodeKind,
    namespace: str,
    name: str,
    version: str | None,
    owners: list[str],
    properties: dict[str, Any],
    event_time: datetime | None = None,
    fields_set: set[str] | None = None,
) -> NodeSpec | None:
    """The NodeSpec validation would make of these parts, built without pydantic's validator, when
    every part already is in the form validation gives it: id parts that pass their checks, a
    version exactly when the kind is versioned, valid owners, a known run status, plain JSON
    properties. None when anything needs converting or would fail, for the caller to validate it
    in full (and get pydantic's errors)."""
    if type(namespace) is not str or type(name) is not str or not (version is None or type(version) is str):
        return None
    if (version is None) is kind.versioned:
        return None
    try:
        check_part("namespace", namespace)
        check_part("name", name)
        if version is not None:
            check_part("version", version)
    except ValueError:
        return None
    if not all(valid_owner(owner) for owner in owners):
        return None
    if kind is NodeKind.RUN and properties.get("status") not in (None, *RUN_STATES):
        return None
    if not plain_json(properties):
        return None
    return NodeSpec.model_construct(
        fields_set,
        kind=kind,
        namespace=namespace,
        name=name,
        version=version,
        event_time=as_utc(event_time),
        owners=owners,
        properties=properties,
    )


def _plain_edge(item: Any) -> EdgeSpec | None:
    if type(item) is not dict or not item.keys() <= _EDGE_KEYS:
        return None
    source, type_text, target = item.get("from"), item.get("type"), item.get("to")
    properties = _plain_properties(item.get("properties", {}))
    if (
        type(source) is not str
        or type(type_text) is not str
        or type(target) is not str
        or item.get("event_time") is not None
        or properties is None
    ):
        return None
    try:
        edge_type = EdgeType.parse(type_text)
        parse_node_id(source)
        parse_node_id(target)
    except ValueError:
        return None
    return EdgeSpec.model_construct(
        {_EDGE_FIELDS.get(key) or key for key in item},
        source=source,
        type=edge_type,
        target=target,
        event_time=None,
        properties=properties,
    )


def batch_document(batch: Batch) -> dict[str, Any]:
    """``batch.model_dump(mode="json", by_alias=True, exclude_defaults=True)``: the batch as a file
    would hold it (and as its audit entry records it).

    Like :func:`parse_batch`, a small plain batch in a process that has not built the models yet
    is dumped by :func:`plain_document`, without building pydantic's serializers.
    """
    if not Batch.__pydantic_complete__ and len(batch) <= QUICK_MAX:
        document = plain_document(batch)
        if document is not None:
            return document
    return batch.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def plain_document(batch: Batch) -> dict[str, Any] | None:
    """What ``batch.model_dump(mode="json", by_alias=True, exclude_defaults=True)`` gives, for a
    batch without times whose properties are plain JSON; None for any other batch."""
    nodes = []
    for n in batch.nodes:
        if n.event_time is not None or not plain_json(n.properties):
            return None
        node: dict[str, Any] = {"kind": n.kind.value, "namespace": n.namespace, "name": n.name}
        if n.version is not None:
            node["version"] = n.version
        if n.owners:
            node["owners"] = list(n.owners)
        if n.properties:
            node["properties"] = n.properties
        nodes.append(node)
    edges = []
    for e in batch.edges:
        if e.event_time is not None or not plain_json(e.properties):
            return None
        edge: dict[str, Any] = {"from": e.source, "type": e.type.value, "to": e.target}
        if e.properties:
            edge["properties"] = e.properties
        edges.append(edge)
    document: dict[str, Any] = {}
    if nodes:
        document["nodes"] = nodes
    if edges:
        document["edges"] = edges
    return document
