"""Governance: classifications that flow along lineage, owners, approvals, policies and access."""
