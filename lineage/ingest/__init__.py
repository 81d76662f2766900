"""Getting lineage in: CI environments, manifests, OpenLineage events."""
