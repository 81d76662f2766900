"""Helpers for the OpenLineage tests: event builders, fixture loaders, graph snapshots."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lineage.storage import GraphStore
from lineage.storage.base import NodeFilter

PRODUCER = "https://github.com/acme/pipelines/tree/1.0"
T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def ds(namespace: str, name: str, **facets: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"namespace": namespace, "name": name}
    if facets:
        out["facets"] = {
            k: {"_producer": PRODUCER, "_schemaURL": f"https://x/{k}.json", **v} for k, v in facets.items()
        }
    return out


def run_event(
    job: str,
    run_id: str,
    event_type: str,
    minutes: float,
    *,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    run_facets: dict[str, Any] | None = None,
    job_facets: dict[str, Any] | None = None,
    namespace: str = "pipelines",
) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "eventTime": at(minutes),
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {"runId": run_id, "facets": run_facets or {}},
        "job": {"namespace": namespace, "name": job, "facets": job_facets or {}},
        "inputs": inputs or [],
        "outputs": outputs or [],
    }


def run_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def fixture_events(root: Path) -> list[dict[str, Any]]:
    """Every complete event of the shared fixtures: Marquez examples and the dbt integration run."""
    ol = root / "openlineage"
    events: list[dict[str, Any]] = json.loads((ol / "marquez" / "metadata.json").read_text())
    events += json.loads((ol / "marquez" / "column-lineage.json").read_text())
    events += [json.loads(p.read_text()) for p in sorted((ol / "dbt-ol").glob("*.json"))]
    return events


def snapshot(store: GraphStore) -> tuple[dict[str, Any], set[tuple[str, str, str]]]:
    """The visible graph: node id -> (properties, owners, event time); edges as (from, type, to)."""
    nodes: dict[str, Any] = {}
    after = None
    while True:
        page = store.list_nodes(NodeFilter(), after=after, limit=500)
        for n in page:
            nodes[n.id] = (json.dumps(n.properties, sort_keys=True), n.owners, n.event_time)
        if len(page) < 500:
            break
        after = page[-1].id
    edges = set()
    for nid in nodes:
        for e in store.node_edges(nid):
            edges.add((e.source, e.type.value, e.target))
    return nodes, edges


def edges_of(store: GraphStore, node_id: str, edge_type: str, *, into: bool) -> set[str]:
    """Sources of edges into ``node_id`` (into=True) or targets of edges out of it."""
    found = set()
    for e in store.node_edges(node_id):
        if e.type.value != edge_type:
            continue
        if into and e.target == node_id:
            found.add(e.source)
        if not into and e.source == node_id:
            found.add(e.target)
    return found
