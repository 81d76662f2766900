"""Contract: registration creates what the batch says, once; repeats change nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from contract_support import PRINCIPAL, all_audit, dep, ds, edge, eid, feat, mk, model, nid, reg, run, snapshot

from lineage.errors import LimitExceededError, ValidationError
from lineage.model import EdgeType, NodeKind
from lineage.storage import GraphStore, NodeFilter


def pipeline() -> tuple[list[dict], list[dict]]:
    raw, clean = ds("orders.raw", "v7", ns="raw"), ds("orders.clean", "v7")
    etl, train = run("etl.orders", "e-1", status="COMPLETE"), run("train.churn", "t-1")
    f = feat("orders_30d", "v3")
    m = model("churn", "3", auc=0.91)
    d = dep("churn-api", environment="prod")
    nodes = [raw, clean, etl, train, f, m, d]
    edges = [
        edge(raw, "INPUT_TO", etl),
        edge(etl, "PRODUCED", clean),
        edge(clean, "FEEDS", f),
        edge(f, "INPUT_TO", train),
        edge(train, "PRODUCED", m),
        edge(m, "DEPLOYED_AS", d),
    ]
    return nodes, edges


def test_register_creates_nodes_and_edges(store: GraphStore) -> None:
    nodes, edges = pipeline()
    before = datetime.now(UTC)
    result = reg(store, nodes, edges)

    assert result.changed
    assert (result.nodes_created, result.nodes_updated, result.edges_created) == (len(nodes), 0, len(edges))
    assert result.unchanged == 0
    assert result.audit_seq == 1
    assert result.recorded_at is not None and result.recorded_at >= before.replace(microsecond=0)
    assert result.node_ids == [nid(n) for n in nodes]

    counts = store.counts()
    assert (counts["nodes"], counts["edges"], counts["audit_entries"]) == (len(nodes), len(edges), 1)
    assert (counts["current_nodes"], counts["current_edges"]) == (len(nodes), len(edges))

    got = store.get_nodes([nid(n) for n in nodes])
    assert sorted(got) == sorted(nid(n) for n in nodes)
    for spec in nodes:
        rec = got[nid(spec)]
        assert rec.kind is NodeKind.parse(spec["kind"])
        assert (rec.namespace, rec.name, rec.version) == (spec["namespace"], spec["name"], spec.get("version"))
        assert rec.properties == spec["properties"]
        assert rec.recorded_at == result.recorded_at
        assert rec.recorded_by == PRINCIPAL
        assert rec.retracted_at is None

    # every edge is there, once, in the right direction, between the right nodes
    seen: set[str] = set()
    for spec in nodes:
        for e in store.node_edges(nid(spec)):
            seen.add(e.id)
            assert e.recorded_at == result.recorded_at
            assert e.recorded_by == PRINCIPAL
    assert seen == {eid(e) for e in edges}
    for e in edges:
        rec = store.get_edge_any((e["from"], EdgeType(e["type"]), e["to"]))
        assert rec is not None and rec.source == e["from"] and rec.target == e["to"]

    assert store.verify_audit().ok


def test_register_same_batch_twice_is_a_no_op(store: GraphStore) -> None:
    nodes, edges = pipeline()
    nodes[0] = {**nodes[0], "owners": ["team-data", "ann@acme.com"], "event_time": "2026-11-03T02:00:00Z"}
    first = reg(store, nodes, edges)
    state = snapshot(store)

    second = reg(store, nodes, edges)

    assert not second.changed
    assert second.audit_seq is None and second.recorded_at is None
    assert (second.nodes_created, second.nodes_updated, second.edges_created) == (0, 0, 0)
    assert second.unchanged == len(nodes) + len(edges)
    assert snapshot(store) == state
    assert len(all_audit(store)) == 1 == first.audit_seq


def test_batch_with_repeated_identical_elements_counts_them_once(store: GraphStore) -> None:
    a, b = ds("a"), ds("b")
    e = edge(a, "FEEDS", b)
    result = reg(store, [a, b, a], [e, e])
    assert (result.nodes_created, result.edges_created) == (2, 1)
    assert store.counts()["nodes"] == 2 and store.counts()["edges"] == 1


def test_repeated_node_with_different_content_is_refused(store: GraphStore) -> None:
    state = snapshot(store)
    with pytest.raises(ValidationError) as info:
        reg(store, [ds("a", rows=1), ds("b"), ds("a", rows=2)])
    assert info.value.code == "BAD_INPUT"
    assert "nodes[2]" in info.value.message and "nodes[0]" in info.value.message
    assert snapshot(store) == state


def test_empty_batch_changes_nothing(store: GraphStore) -> None:
    result = reg(store, [], [])
    assert not result.changed and store.counts()["audit_entries"] == 0


def test_property_update_records_a_revision(store: GraphStore) -> None:
    first = reg(store, [ds("orders", rows=10, location="s3://a")])
    second = reg(store, [ds("orders", rows=12)])
    node_id = nid(ds("orders"))

    assert second.changed and second.nodes_updated == 1 and second.nodes_created == 0
    assert second.audit_seq == 2
    assert first.recorded_at is not None and second.recorded_at is not None
    assert second.recorded_at > first.recorded_at

    # properties merge: new keys win, untouched keys stay
    current = store.get_node(node_id)
    assert current.properties == {"rows": 12, "location": "s3://a"}
    assert current.recorded_at == first.recorded_at  # the node itself is as old as its first record

    revisions = store.revisions(node_id)
    assert [r.properties for r in revisions] == [{"rows": 10, "location": "s3://a"}, {"rows": 12, "location": "s3://a"}]
    assert [r.recorded_at for r in revisions] == [first.recorded_at, second.recorded_at]

    # as of the first write the old properties are seen
    assert store.get_node(node_id, as_of=first.recorded_at).properties == {"rows": 10, "location": "s3://a"}
    assert store.get_node(node_id, as_of=second.recorded_at).properties == current.properties

    # the same update again is a no-op
    third = reg(store, [ds("orders", rows=12)])
    assert not third.changed and len(store.revisions(node_id)) == 2


def test_event_time_is_kept_in_utc(store: GraphStore) -> None:
    reg(store, [{**ds("a"), "event_time": "2026-11-03T04:00:00+02:00"}])
    rec = store.get_node(nid(ds("a")))
    assert rec.event_time == datetime(2026, 11, 3, 2, 0, tzinfo=UTC)


def test_properties_round_trip_as_json(store: GraphStore) -> None:
    props = {"n": 1, "f": 0.25, "s": "ünïcode ✓", "l": [1, "two", None], "d": {"k": [True, False]}}
    reg(store, [ds("a", **props)])
    assert store.get_node(nid(ds("a"))).properties == props


def test_owners_from_the_batch_are_recorded_once(store: GraphStore) -> None:
    spec = {**ds("a"), "owners": ["team-a", "bob@acme.com", "team-a"]}
    reg(store, [spec])
    rec = store.get_node(nid(spec))
    assert sorted(rec.owners) == ["bob@acme.com", "team-a"]
    assert reg(store, [spec]).changed is False
    # a new owner in a later batch is added, the old ones stay
    later = reg(store, [{**ds("a"), "owners": ["team-b"]}])
    assert later.changed and later.nodes_updated == 0
    assert sorted(store.get_node(nid(spec)).owners) == ["bob@acme.com", "team-a", "team-b"]
    assert sorted(store.nodes_with_annotation("owner", "team-b")) == [nid(spec)]


def test_a_later_batch_may_link_stored_nodes_in_a_chain(store: GraphStore) -> None:
    """Edges a -> r and r -> b in one batch, all three nodes already stored: not a cycle."""
    a, r, b = ds("a"), run("r"), ds("b")
    reg(store, [a, r, b])
    result = reg(store, [], [edge(a, "INPUT_TO", r), edge(r, "PRODUCED", b)])
    assert result.edges_created == 2
    assert [x.id for x in store.reach(nid(a), "downstream").nodes] == [nid(r), nid(b)]


def test_list_nodes_filters_and_pages(store: GraphStore) -> None:
    nodes = [ds(f"t{i:02d}") for i in range(7)] + [run("job"), dep("svc", "staging")]
    nodes[0] = {**nodes[0], "owners": ["team-x"]}
    reg(store, nodes)
    ids = sorted(nid(n) for n in nodes)
    page1 = store.list_nodes(NodeFilter(), limit=4)
    page2 = store.list_nodes(NodeFilter(), after=page1[-1].id, limit=100)
    assert [n.id for n in page1 + page2] == ids
    only = store.list_nodes(NodeFilter(kinds=(NodeKind.DATASET,)))
    assert [n.id for n in only] == sorted(nid(n) for n in nodes if n["kind"] == "Dataset")
    assert [n.id for n in store.list_nodes(NodeFilter(namespace="staging"))] == [nid(dep("svc", "staging"))]
    assert [n.id for n in store.list_nodes(NodeFilter(owner="team-x"))] == [nid(nodes[0])]
    assert [n.id for n in store.list_nodes(NodeFilter(name_prefix="t0"))] == sorted(
        nid(n) for n in nodes if n["name"].startswith("t0")
    )


def test_search_finds_by_name_and_id(store: GraphStore) -> None:
    reg(store, [ds("customer_360"), ds("customer_360_daily"), ds("orders"), feat("customer_tenure")])
    found = [n.id for n in store.search("customer_360")]
    assert set(found) == {nid(ds("customer_360")), nid(ds("customer_360_daily"))}
    assert found[0] == nid(ds("customer_360"))  # the exact name first
    assert [n.id for n in store.search("CUSTOMER", kinds=[NodeKind.FEATURE])] == [nid(feat("customer_tenure"))]
    assert store.search("no-such-thing") == []
    assert len(store.search("customer", limit=1)) == 1
    # LIKE wildcards in the text are literal
    assert store.search("customer%360") == [] and store.search("_") != []


def test_batch_too_large_is_refused(store: GraphStore) -> None:
    original = store.max_batch
    store.max_batch = 3
    try:
        with pytest.raises(LimitExceededError) as info:
            reg(store, [ds("a"), ds("b"), ds("c"), ds("d")])
        assert info.value.code == "LIMIT_EXCEEDED"
    finally:
        store.max_batch = original
    assert store.counts()["nodes"] == 0


def test_model_dump_of_a_stored_batch_round_trips(store: GraphStore) -> None:
    """The audit payload keeps the batch; registering it again from there changes nothing."""
    nodes, edges = pipeline()
    reg(store, nodes, edges)
    payload = all_audit(store)[0].payload
    again = store.register(mk(payload["batch"].get("nodes"), payload["batch"].get("edges")),
                           principal=PRINCIPAL)
    assert not again.changed


def test_search_folds_case_beyond_ascii(store: GraphStore) -> None:
    reg(store, [ds("Émissions", ns="geo"), ds("café", ns="geo"), ds("STRASSE", ns="geo")])
    for text, expected in [
        ("Émissions", ["Émissions"]),
        ("émissions", ["Émissions"]),
        ("ÉMISSIONS", ["Émissions"]),
        ("missions", ["Émissions"]),
        ("CAFÉ", ["café"]),
        ("strasse", ["STRASSE"]),
    ]:
        assert [n.name for n in store.search(text)] == expected, text
