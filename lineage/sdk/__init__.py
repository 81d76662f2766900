"""The Python SDK's parts; use :class:`lineage.Client`."""

from lineage.sdk.runs import RunContext
from lineage.sdk.types import AuditEntry, ColumnLineage, Edge, LineageGraph, Node, Reached, RegisterResult

__all__ = ["AuditEntry", "ColumnLineage", "Edge", "LineageGraph", "Node", "Reached", "RegisterResult", "RunContext"]
