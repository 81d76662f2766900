"""Builders and observers shared by the storage contract tests.

Everything here goes through the public :class:`~lineage.storage.GraphStore` API only, so the
contract suite runs unchanged on every backend.
"""

from __future__ import annotations

import itertools
from typing import Any

import networkx as nx

from lineage.model import Batch, parse_batch
from lineage.storage import AuditFilter, Direction, GraphStore, Reach

PRINCIPAL = "user:contract-tests"


def ds(name: str, version: str = "1", ns: str = "warehouse", **props: Any) -> dict[str, Any]:
    return {"kind": "Dataset", "namespace": ns, "name": name, "version": version, "properties": props}


def feat(name: str, version: str = "1", ns: str = "features", **props: Any) -> dict[str, Any]:
    return {"kind": "Feature", "namespace": ns, "name": name, "version": version, "properties": props}


def run(name: str, version: str = "r1", ns: str = "ci", **props: Any) -> dict[str, Any]:
    return {"kind": "Run", "namespace": ns, "name": name, "version": version, "properties": props}


def model(name: str, version: str = "1", ns: str = "ml", **props: Any) -> dict[str, Any]:
    return {"kind": "Model", "namespace": ns, "name": name, "version": version, "properties": props}


def commit(sha: str, repo: str = "github.com/acme/ml") -> dict[str, Any]:
    return {"kind": "CodeCommit", "namespace": "git", "name": repo, "version": sha}


def dep(name: str, env: str = "prod", **props: Any) -> dict[str, Any]:
    return {"kind": "Deployment", "namespace": env, "name": name, "properties": props}


def nid(spec: dict[str, Any]) -> str:
    """The id of a node spec, computed the way the README documents it (no escapes needed here)."""
    base = f"{spec['kind'].lower()}:{spec['namespace']}/{spec['name']}"
    return f"{base}@{spec['version']}" if spec.get("version") is not None else base


def edge(src: dict[str, Any] | str, etype: str, dst: dict[str, Any] | str) -> dict[str, Any]:
    return {
        "from": src if isinstance(src, str) else nid(src),
        "type": etype,
        "to": dst if isinstance(dst, str) else nid(dst),
    }


def eid(e: dict[str, Any]) -> str:
    return f"{e['from']} -{e['type']}-> {e['to']}"


def mk(nodes: list[dict[str, Any]] | None = None, edges: list[dict[str, Any]] | None = None) -> Batch:
    return parse_batch({"nodes": nodes or [], "edges": edges or []})


def reg(store: GraphStore, nodes: list[dict[str, Any]] | None = None, edges: list[dict[str, Any]] | None = None,
        principal: str = PRINCIPAL) -> Any:
    return store.register(mk(nodes, edges), principal=principal, source="test")


def all_audit(store: GraphStore) -> list[Any]:
    return store.audit_entries(AuditFilter(limit=1_000_000))


def known_ids(store: GraphStore) -> list[str]:
    """Every node id the audit log mentions (all registered nodes appear there as subjects)."""
    out: dict[str, None] = {}
    for entry in all_audit(store):
        for subject in entry.subjects:
            out.setdefault(subject)
    return sorted(out)


def snapshot(store: GraphStore, extra_ids: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """Everything observable about the store through the public API, as plain data.

    Two snapshots are equal exactly when no read of the contract could tell the stores apart:
    counts, the audit log with payloads and its head, and for every known node its record (as
    currently recorded, retracted or not), edges (including retracted ones), annotations and
    revisions.
    """
    ids = sorted({*known_ids(store), *extra_ids})
    verification = store.verify_audit()
    nodes: dict[str, Any] = {}
    for node_id in ids:
        rec = store.get_node_any(node_id)
        nodes[node_id] = None if rec is None else {
            "record": rec.to_dict(),
            "edges": [e.to_dict() for e in store.node_edges(node_id, include_retracted=True)],
            "annotations": [repr(a) for a in store.annotations(node_id)],
            "revisions": [repr(r) for r in store.revisions(node_id)],
        }
    return {
        "counts": store.counts(),
        "audit": [e.to_dict(with_payload=True) for e in all_audit(store)],
        "audit_head": (verification.ok, verification.entries, verification.head),
        "nodes": nodes,
    }


def check_paths(reach: Reach, g: nx.DiGraph) -> None:
    """Every reported path is made of real edges, in the walk's direction, and is a shortest one."""
    walk = g if reach.direction is Direction.DOWNSTREAM else g.reverse(copy=False)
    dist = nx.single_source_shortest_path_length(walk, reach.start)
    for r in reach.nodes:
        ids = reach.path_ids(r.id)
        steps = reach.path(r.id)
        assert ids[0] == reach.start and ids[-1] == r.id
        assert len(steps) == r.distance == dist[r.id] == len(ids) - 1
        assert len(set(ids)) == len(ids)
        for (u, v), step in zip(itertools.pairwise(ids), steps, strict=True):
            assert walk.has_edge(u, v), f"{u} -> {v} is not an edge"
            assert walk.edges[u, v]["type"] == step.edge_type.value
            assert step.node == v
