"""Hash-chained, append-only audit log."""

from lineage.audit.chain import GENESIS, AuditEntry, Verification, canonical, digest, seal, verify

__all__ = ["GENESIS", "AuditEntry", "Verification", "canonical", "digest", "seal", "verify"]
