"""Questions answered over the graph: impact (downstream), provenance (upstream), paths."""

from lineage.analysis.lineage import LineageReport, ReachedNode, impact, is_production, provenance

__all__ = ["LineageReport", "ReachedNode", "impact", "is_production", "provenance"]
