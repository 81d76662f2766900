"""Column-level lineage of a dataset version, from the ``columnLineage`` facet its producing run sent.

The facet names source datasets by namespace and name; they are pinned to the versions the
producing run read (its INPUT_TO edges), or to the dataset's ``observed`` placeholder when the run
has no recorded input for that dataset.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lineage.ingest.openlineage_facets import column_edges
from lineage.ingest.openlineage_resolve import PLACEHOLDER, dataset_id
from lineage.model import parse_node_id
from lineage.sdk.types import ColumnLineage


def column_lineage(
    target: str, properties: dict[str, Any], run_inputs: Iterable[str], field: str | None = None
) -> list[ColumnLineage]:
    """Column edges into ``target`` (a dataset version id), optionally only into one field."""
    pinned: dict[tuple[str, str], list[str]] = {}
    for nid in sorted(set(run_inputs)):
        key = parse_node_id(nid)
        pinned.setdefault((key.namespace, key.name), []).append(nid)
    out = []
    for edge in column_edges(properties.get("column_lineage")):
        if field is not None and edge.target_field != field:
            continue
        sources = pinned.get((edge.source_namespace, edge.source_name)) or [
            dataset_id(edge.source_namespace, edge.source_name, PLACEHOLDER)
        ]
        for source in sources:
            out.append(
                ColumnLineage(
                    target, edge.target_field, source, edge.source_field, edge.transformations, edge.description
                )
            )
    return out
