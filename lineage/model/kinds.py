"""Node kinds, edge types and the one schema of allowed (kind, edge, kind) triples."""

from __future__ import annotations

from enum import StrEnum


class NodeKind(StrEnum):
    """What a node is. Values are also the storage labels: a closed list, never user text."""

    DATASET = "Dataset"
    FEATURE = "Feature"
    CODE_COMMIT = "CodeCommit"
    RUN = "Run"
    MODEL = "Model"
    DEPLOYMENT = "Deployment"

    @property
    def prefix(self) -> str:
        """The id prefix, e.g. ``dataset`` in ``dataset:warehouse/orders@v7``."""
        return self.value.lower()

    @property
    def versioned(self) -> bool:
        """Whether the id carries a version part (for a Run: the run id)."""
        return self is not NodeKind.DEPLOYMENT

    @classmethod
    def parse(cls, text: str) -> NodeKind:
        """Accept ``Dataset``, ``dataset`` or ``DATASET``; raise ValueError naming the choices."""
        kind = _KIND_NAMES.get(text.lower())
        if kind is not None:
            return kind
        raise ValueError(f"unknown kind {text!r}; expected one of {', '.join(k.value for k in cls)}")


#: Lower-cased value and member name of every kind, for :meth:`NodeKind.parse`.
_KIND_NAMES: dict[str, NodeKind] = {}
for _kind in NodeKind:
    _KIND_NAMES.setdefault(_kind.value.lower(), _kind)
    _KIND_NAMES.setdefault(_kind.name.lower(), _kind)


class EdgeType(StrEnum):
    """Provenance edges point the way data flows: cause -> effect."""

    INPUT_TO = "INPUT_TO"
    PRODUCED = "PRODUCED"
    EXECUTED_IN = "EXECUTED_IN"
    FEEDS = "FEEDS"
    DEPLOYED_AS = "DEPLOYED_AS"
    #: A run that launched another: an orchestrator run (Airflow DAG run, Spark application) is
    #: PARENT_OF each task or job run it started (OpenLineage's ``parent`` run facet).
    PARENT_OF = "PARENT_OF"

    @classmethod
    def parse(cls, text: str) -> EdgeType:
        try:
            return cls(text.upper())
        except ValueError:
            raise ValueError(
                f"unknown edge type {text!r}; expected one of {', '.join(e.value for e in cls)}"
            ) from None


_D, _F, _C, _R, _M, _P = (
    NodeKind.DATASET,
    NodeKind.FEATURE,
    NodeKind.CODE_COMMIT,
    NodeKind.RUN,
    NodeKind.MODEL,
    NodeKind.DEPLOYMENT,
)

#: Every allowed edge, each reading as a sentence: "a Dataset is INPUT_TO a Run".
ALLOWED_EDGES: frozenset[tuple[NodeKind, EdgeType, NodeKind]] = frozenset(
    {
        (_D, EdgeType.INPUT_TO, _R),
        (_F, EdgeType.INPUT_TO, _R),
        (_M, EdgeType.INPUT_TO, _R),
        (_R, EdgeType.PRODUCED, _D),
        (_R, EdgeType.PRODUCED, _F),
        (_R, EdgeType.PRODUCED, _M),
        (_C, EdgeType.EXECUTED_IN, _R),
        (_D, EdgeType.FEEDS, _D),
        (_D, EdgeType.FEEDS, _F),
        (_F, EdgeType.FEEDS, _F),
        (_F, EdgeType.FEEDS, _D),
        (_D, EdgeType.FEEDS, _P),
        (_F, EdgeType.FEEDS, _P),
        (_M, EdgeType.DEPLOYED_AS, _P),
        (_R, EdgeType.PARENT_OF, _R),
    }
)


def edge_allowed(src: NodeKind, edge: EdgeType, dst: NodeKind) -> bool:
    return (src, edge, dst) in ALLOWED_EDGES


def allowed_targets(src: NodeKind, edge: EdgeType) -> list[NodeKind]:
    return sorted((d for s, e, d in ALLOWED_EDGES if s is src and e is edge), key=lambda k: k.value)


#: Mutable facts about a node, kept as audited annotations. A closed list.
ANNOTATION_KEYS: frozenset[str] = frozenset({"owner", "tag", "approval", "removes"})
