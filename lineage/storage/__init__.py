"""Graph stores: the contract and its backends, chosen by URL."""

from __future__ import annotations

from typing import Any

from lineage.errors import ValidationError
from lineage.storage.base import AuditFilter, Direction, GraphStore, NodeFilter, Reach, Reached

__all__ = ["AuditFilter", "Direction", "GraphStore", "NodeFilter", "Reach", "Reached", "open_store"]

NEO4J_SCHEMES = ("neo4j://", "neo4j+s://", "neo4j+ssc://", "bolt://", "bolt+s://", "bolt+ssc://")


def open_store(url: str, **options: Any) -> GraphStore:
    """Open the backend the URL names: ``sqlite:///path.db`` (default) or ``neo4j://``/``bolt://``.

    Raises ValidationError for an unknown scheme, BackendUnavailableError when the store cannot
    be reached and MissingExtraError when the backend's driver is not installed.
    """
    if url.startswith(NEO4J_SCHEMES):
        from lineage.extras import requires

        with requires("a Neo4j store"):
            from lineage.storage.neo4j import Neo4jStore

        return Neo4jStore(url, **options)
    if url.startswith("sqlite:") or "://" not in url:
        from lineage.storage.sqlite import SQLiteStore

        return SQLiteStore(url, **options)
    raise ValidationError(
        f"unknown store URL {url!r}: use sqlite:///path/lineage.db, neo4j://host:7687 or bolt://host:7687"
    )
