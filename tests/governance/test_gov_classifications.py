"""Classifications: setting, propagation with explanations, removal, hierarchy, as-of, audit."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import networkx as nx
import pytest
from gov_graphs import AGG, ANON, ANON_RUN, CLEAN, CLEAN_RUN, COMMIT, MODEL, PROD, RAW, STAGING, TRAIN
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.errors import NotFoundError, ValidationError
from lineage.governance.classifications import (
    classification_reach,
    classify,
    declare_removes,
    effective_classifications,
    known_classifications,
)
from lineage.governance.labels import ancestors, covers, parse_tag
from lineage.governance.propagation import propagate
from lineage.model import Batch, EdgeSpec, NodeKind, NodeSpec
from lineage.storage import AuditFilter, GraphStore, open_store


def test_labels_hierarchy_and_column_convention() -> None:
    assert ancestors("pii.email.work") == ["pii.email.work", "pii.email", "pii"]
    assert covers("pii", "pii.email") and covers("pii", "pii") and not covers("pii", "piix")
    assert not covers("pii.email", "pii")
    ref = parse_tag("pii.email@column:email")
    assert (ref.classification, ref.column) == ("pii.email", "email")
    assert parse_tag("confidential").column is None


def test_column_classification_flows_downstream_with_path_and_origin(small: GraphStore) -> None:
    classify(small, RAW, ["pii.email"], column="email", principal="alice", reason="contact data")
    found = effective_classifications(small, PROD)
    assert found.labels() == ["pii.email"]
    (eff,) = found.effective
    assert eff.origin.node == RAW and eff.origin.columns == ("email",)
    assert eff.origin.set_by == "alice"
    assert eff.path == (RAW, CLEAN_RUN, CLEAN, TRAIN, MODEL, PROD)
    assert eff.path_edges == ("INPUT_TO", "PRODUCED", "INPUT_TO", "PRODUCED", "DEPLOYED_AS")
    assert "column email of dataset:raw/customers@v1" in eff.text()
    assert not eff.direct and found.has("pii") and not found.has("gdpr")
    direct = effective_classifications(small, RAW).effective[0]
    assert direct.direct and direct.path == (RAW,)


def test_removal_stops_propagation_and_explains(small: GraphStore) -> None:
    classify(small, RAW, ["pii.email"], principal="alice")
    declare_removes(small, ANON_RUN, ["pii"], principal="bob", reason="k-anonymised")
    assert effective_classifications(small, ANON).effective == []
    after = effective_classifications(small, AGG)
    assert after.effective == []
    (removal,) = after.removed
    assert removal.removed_at == ANON_RUN and removal.removes == ("pii",)
    assert removal.path == (RAW, CLEAN_RUN, CLEAN, ANON_RUN)
    assert "removed at run:etl/anonymise@a1" in removal.text()
    # the training branch is unaffected
    assert effective_classifications(small, PROD).labels() == ["pii.email"]
    reach = classification_reach(small, "pii")
    assert ANON not in reach.ids() and AGG not in reach.ids() and ANON_RUN not in reach.ids()
    assert [r.removed_at for r in reach.removed] == [ANON_RUN]


def test_removal_of_a_narrower_class_does_not_stop_a_broader_one(small: GraphStore) -> None:
    classify(small, RAW, ["pii"], principal="alice")
    declare_removes(small, ANON_RUN, ["pii.email"], principal="bob")
    assert effective_classifications(small, AGG).labels() == ["pii"]


def test_direct_tag_wins_over_removal(small: GraphStore) -> None:
    classify(small, RAW, ["gdpr"], principal="alice")
    declare_removes(small, ANON, ["gdpr"], principal="bob")
    classify(small, ANON, ["gdpr"], principal="carol")
    eff = effective_classifications(small, AGG).effective[0]
    assert eff.origin.node == ANON and eff.path == (ANON, AGG)


def test_reach_lists_kinds_owners_and_narrower_classes(small: GraphStore) -> None:
    classify(small, RAW, ["pii.email"], column="email", principal="alice")
    classify(small, CLEAN, ["pii.phone"], principal="alice")
    reach = classification_reach(small, "pii")
    by_id = {r.node.id: r for r in reach.nodes}
    assert set(by_id) == {RAW, CLEAN_RUN, CLEAN, TRAIN, MODEL, PROD, STAGING, ANON_RUN, ANON, AGG}
    assert COMMIT not in by_id
    assert sorted(e.classification for e in by_id[MODEL].via) == ["pii.email", "pii.phone"]
    assert by_id[MODEL].node.owners == ("team-churn <churn@acme.com>",)
    assert reach.nodes[0].node.kind is NodeKind.DEPLOYMENT
    assert reach.to_dict()["counts"]["Deployment"] == 2
    assert classification_reach(small, "pii.email", kinds=[NodeKind.DEPLOYMENT]).ids() == {PROD, STAGING}
    assert classification_reach(small, "gdpr").nodes == []
    assert known_classifications(small) == ["pii", "pii.email", "pii.phone"]


def test_as_of_and_untagging(small: GraphStore) -> None:
    before = small.audit_entries(AuditFilter(limit=1000))[-1].at
    tagged = classify(small, RAW, ["confidential"], principal="alice")
    classify(small, RAW, ["confidential"], remove=True, principal="alice")
    assert effective_classifications(small, PROD).effective == []
    assert effective_classifications(small, PROD, as_of=before).effective == []
    assert effective_classifications(small, PROD, as_of=tagged.recorded_at).labels() == ["confidential"]
    assert classification_reach(small, "confidential", as_of=tagged.recorded_at).ids() >= {PROD, MODEL}


def test_writes_are_audited_and_validated(small: GraphStore) -> None:
    result = classify(small, RAW, ["pii.email"], column="email", principal="alice", source="cli")
    entry = small.audit_entries(AuditFilter(action="annotate.tag"))[-1]
    assert entry.seq == result.audit_seq and entry.principal == "alice"
    assert entry.payload["added"] == ["pii.email@column:email"]
    assert small.verify_audit().ok
    with pytest.raises(ValidationError, match="lower-case dotted"):
        classify(small, RAW, ["PII"], principal="alice")
    with pytest.raises(ValidationError, match="no column 'mail'"):
        classify(small, RAW, ["pii"], column="mail", principal="alice")
    with pytest.raises(ValidationError, match="only datasets have columns"):
        classify(small, MODEL, ["pii"], column="x", principal="alice")
    with pytest.raises(ValidationError, match="Run, Dataset or Feature"):
        declare_removes(small, PROD, ["pii"], principal="alice")
    with pytest.raises(NotFoundError):
        classify(small, "dataset:raw/nothing@v1", ["pii"], principal="alice")
    assert classify(small, RAW, ["pii.email"], column="email", principal="alice").changed is False


# -- property: a classification reaches exactly the descendants not cut off by a remover ---------


@st.composite
def dags(draw: st.DrawFn) -> tuple[int, list[tuple[int, int]], set[int], set[int]]:
    n = draw(st.integers(min_value=2, max_value=10))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=min(len(pairs), 20))) if pairs else []
    sources = set(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3)))
    blockers = set(draw(st.lists(st.integers(0, n - 1), max_size=3)))
    return n, edges, sources, blockers


def _expected(n: int, edges: list[tuple[int, int]], sources: set[int], blockers: set[int]) -> set[int]:
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges)
    cut = graph.subgraph([v for v in graph if v not in blockers or v in sources])
    out = set(sources)
    for s in sources:
        out |= nx.descendants(cut, s)
    return out


@settings(max_examples=200, deadline=None)
@given(dags())
def test_propagation_property_pure(case: tuple[int, list[tuple[int, int]], set[int], set[int]]) -> None:
    n, edges, sources, blockers = case
    graph = nx.DiGraph()
    graph.add_nodes_from(str(i) for i in range(n))
    graph.add_edges_from((str(a), str(b)) for a, b in edges)
    flow = propagate(graph, "x", {str(s) for s in sources}, {str(b) for b in blockers - sources})
    assert set(flow.carriers) == {str(v) for v in _expected(n, edges, sources, blockers)}
    for node in flow.carriers:
        path = flow.path(node)
        assert path[-1] == node and path[0] in {str(s) for s in sources}
        assert all(graph.has_edge(a, b) for a, b in itertools.pairwise(path))


@settings(max_examples=25, deadline=None)
@given(dags())
def test_propagation_property_through_the_store(case: tuple[int, list[tuple[int, int]], set[int], set[int]]) -> None:
    n, edges, sources, blockers = case
    ids = [f"dataset:d/n{i}@v1" for i in range(n)]
    batch = Batch(
        nodes=[NodeSpec(kind=NodeKind.DATASET, namespace="d", name=f"n{i}", version="v1") for i in range(n)],
        edges=[EdgeSpec.model_validate({"from": ids[a], "type": "FEEDS", "to": ids[b]}) for a, b in edges],
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'p.db'}")
        try:
            store.register(batch, principal="prop")
            for s in sorted(sources):
                classify(store, ids[s], ["secret.x"], principal="prop")
            for b in sorted(blockers):
                declare_removes(store, ids[b], ["secret"], principal="prop")
            reach = classification_reach(store, "secret")
            assert reach.ids() == {ids[v] for v in _expected(n, edges, sources, blockers)}
            for i in range(n):
                carries = effective_classifications(store, ids[i]).has("secret")
                assert carries == (ids[i] in reach.ids())
        finally:
            store.close()
