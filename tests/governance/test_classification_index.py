"""A node's classifications found over the traversal index (an upstream walk of node numbers, then
only the part between classified nodes and the node) equal those found by walking the store, on
random graphs with random tags, removals and retractions, now and as of every recorded time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage.governance.classifications import classify, declare_removes, effective_classifications
from lineage.model import ALLOWED_EDGES, NodeKind, parse_batch
from lineage.storage import GraphStore

PRINCIPAL = "user:classification-tests"
TYPE_OF = {(s, d): e.value for s, e, d in ALLOWED_EDGES}
KINDS = [NodeKind.DATASET, NodeKind.DATASET, NodeKind.RUN, NodeKind.RUN, NodeKind.FEATURE, NodeKind.MODEL]
LABELS = ["pii", "pii.email", "gdpr"]


def _id(kind: NodeKind, i: int) -> str:
    base = f"{kind.prefix}:ns/n{i:02d}"
    return f"{base}@v1" if kind.versioned else base


def _spec(kind: NodeKind, i: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"kind": kind.value, "namespace": "ns", "name": f"n{i:02d}"}
    if kind.versioned:
        spec["version"] = "v1"
    return spec


class _WithoutIndex:
    """The same store with its index hidden: walks go to the store level by level."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store

    def traversal_index(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@st.composite
def graphs(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(3, 10))
    kinds = [draw(st.sampled_from(KINDS)) for _ in range(n)]
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n) if (kinds[a], kinds[b]) in TYPE_OF]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=20)) if pairs else []
    tags = draw(st.lists(st.tuples(st.integers(0, n - 1), st.sampled_from(LABELS)), max_size=4))
    removes = draw(st.lists(st.tuples(st.integers(0, n - 1), st.sampled_from(LABELS)), max_size=2))
    retract = draw(st.lists(st.integers(0, max(len(edges) - 1, 0)), max_size=2, unique=True)) if edges else []
    return {"kinds": kinds, "edges": edges, "tags": tags, "removes": removes, "retract": retract}


def _same(store: GraphStore, ids: list[str], as_of: Any = None) -> None:
    plain = _WithoutIndex(store)
    for node in ids:
        try:
            want = effective_classifications(plain, node, as_of=as_of).to_dict()  # type: ignore[arg-type]
        except Exception:  # not visible then
            continue
        assert effective_classifications(store, node, as_of=as_of).to_dict() == want


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(g=graphs())
def test_classifications_over_the_index_equal_a_walk_of_the_store(
    store_factory: Callable[[], GraphStore], g: dict[str, Any]
) -> None:
    kinds: list[NodeKind] = g["kinds"]
    ids = [_id(k, i) for i, k in enumerate(kinds)]
    with store_factory() as store:
        edges = [{"from": ids[a], "type": TYPE_OF[(kinds[a], kinds[b])], "to": ids[b]} for a, b in g["edges"]]
        batch = {"nodes": [_spec(k, i) for i, k in enumerate(kinds)], "edges": edges}
        times = [store.register(parse_batch(batch), principal=PRINCIPAL, source="test").recorded_at]
        for i, label in g["tags"]:
            times.append(classify(store, ids[i], [label], principal=PRINCIPAL).recorded_at)
        for i, label in g["removes"]:
            if kinds[i] is NodeKind.MODEL:  # only runs, datasets and features remove
                continue
            times.append(declare_removes(store, ids[i], [label], principal=PRINCIPAL).recorded_at)
        _same(store, ids)
        for k in g["retract"]:
            a, b = g["edges"][k]
            edge = f"{ids[a]} -{TYPE_OF[(kinds[a], kinds[b])]}-> {ids[b]}"
            times.append(store.retract(edge, reason="wrong", principal=PRINCIPAL).recorded_at)
        _same(store, ids)
        for t in times:
            if t is not None:
                _same(store, ids, t)
