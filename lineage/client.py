"""The Python SDK: ``lineage.Client``, the same calls against a server or a local store.

>>> from lineage import Client                                      # doctest: +SKIP
>>> client = Client("https://lineage.acme.internal", token=os.environ["LINEAGE_TOKEN"])
>>> client = Client("sqlite:///lineage.db")                         # or a store in this process
>>> with client.run("train-churn", commit=True) as run:
...     run.input("dataset:warehouse/customer_360@2026-11-03")
...     run.model("churn-classifier", "4", artifact_uri="s3://models/churn/4")
>>> client.impact("dataset:warehouse/customer_360@2026-11-03").to_networkx()

Every write returns after it is committed, so the next query (through any client) sees it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol

from lineage.errors import ValidationError
from lineage.ingest.ci import resolve_principal
from lineage.ingest.git import Commit
from lineage.model import Batch, EdgeSpec, NodeKind, NodeSpec, parse_batch
from lineage.sdk.governance import ClassificationReach, NodeClassifications
from lineage.sdk.runs import RunContext
from lineage.sdk.types import AuditEntry, ColumnLineage, LineageGraph, Node, RegisterResult
from lineage.storage.base import Direction, GraphStore


class _Backend(Protocol):
    def close(self) -> None: ...
    def register(self, batch: Batch) -> RegisterResult: ...
    def get(self, node_id: str, as_of: datetime | None) -> Node: ...
    def search(self, text: str, kinds: Sequence[NodeKind], limit: int, as_of: datetime | None) -> list[Node]: ...
    def lineage(
        self, node_id: str, direction: Direction, depth: int | None, kinds: Sequence[NodeKind], as_of: datetime | None
    ) -> LineageGraph: ...
    def audit(
        self,
        *,
        principal: str | None,
        subject: str | None,
        action: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
    ) -> list[AuditEntry]: ...
    def column_lineage(self, dataset_id: str, field: str | None) -> list[ColumnLineage]: ...
    def classifications(self, node_id: str, as_of: datetime | None) -> NodeClassifications: ...
    def classification_reach(
        self, classification: str, kinds: Sequence[NodeKind], as_of: datetime | None
    ) -> ClassificationReach: ...


def _env_seconds(name: str, default: float) -> float:
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValidationError(f"{name}={text!r}: expected a number of seconds") from None
    if value < 0:
        raise ValidationError(f"{name}={text!r}: expected a number of seconds >= 0")
    return value


def _kinds(kinds: Sequence[NodeKind | str] | None) -> tuple[NodeKind, ...]:
    return tuple(k if isinstance(k, NodeKind) else NodeKind.parse(k) for k in kinds or ())


class Client:
    """A lineage client.

    ``target`` is a server URL (``http://`` or ``https://``; ``token`` defaults to
    ``LINEAGE_TOKEN``), a store URL (``sqlite:///lineage.db``, ``neo4j://host:7687``) or an open
    :class:`GraphStore`. Local writes are recorded under ``actor`` (default: the CI actor or OS user).
    Against a server, connection errors and 502/503/504 answers are retried with backoff for up to
    ``retry_for`` seconds (default ``LINEAGE_RETRY_FOR``, else 30; 0: no retries): every operation
    is idempotent, registration included.
    """

    def __init__(
        self,
        target: str | GraphStore,
        token: str | None = None,
        *,
        actor: str | None = None,
        timeout: float = 30.0,
        retry_for: float | None = None,
    ) -> None:
        self._backend: _Backend
        if isinstance(target, str) and target.startswith(("http://", "https://")):
            from lineage.sdk.remote import RemoteBackend, RetryPolicy

            if retry_for is None:
                retry_for = _env_seconds("LINEAGE_RETRY_FOR", 30.0)
            self._backend = RemoteBackend(
                target, token or os.environ.get("LINEAGE_TOKEN"), timeout=timeout, retry=RetryPolicy(retry_for)
            )
            self.remote = True
        else:
            from lineage.sdk.local import LocalBackend
            from lineage.settings import load_settings, store_options
            from lineage.storage import open_store

            principal, _source = resolve_principal(actor or os.environ.get("LINEAGE_ACTOR"), os.environ)
            if isinstance(target, GraphStore):
                store, owned = target, False
            else:
                store, owned = open_store(target, **store_options(load_settings(store=target))), True
            self._backend = LocalBackend(store, principal=principal, source="sdk", owned=owned)
            self.remote = False

    def close(self) -> None:
        self._backend.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- writes ------------------------------------------------------------------------------

    def register(
        self,
        batch: Batch | dict[str, Any] | None = None,
        *,
        nodes: Sequence[NodeSpec | dict[str, Any]] = (),
        edges: Sequence[EdgeSpec | dict[str, Any]] = (),
    ) -> RegisterResult:
        """Register a batch (a Batch, or the JSON/YAML batch format as a dict), all or nothing."""
        if batch is None:
            batch = parse_batch(
                {
                    "nodes": [n.model_dump() if isinstance(n, NodeSpec) else n for n in nodes],
                    "edges": [e.model_dump(by_alias=True) if isinstance(e, EdgeSpec) else e for e in edges],
                }
            )
        elif isinstance(batch, dict):
            batch = parse_batch(batch)
        return self._backend.register(batch)

    def run(
        self,
        job: str,
        *,
        namespace: str = "sdk",
        run_id: str | None = None,
        commit: str | Commit | bool | None = True,
        properties: dict[str, Any] | None = None,
        owners: list[str] | None = None,
    ) -> RunContext:
        """A run of ``job``: ``with client.run("train") as run: run.input(...); run.output(...)``.

        ``commit``: True detects the checked-out commit with git (nothing if there is none), a
        sha or a ``codecommit:`` id names it, None or False records none.
        """
        return RunContext(
            self._backend.register,
            job,
            namespace=namespace,
            run_id=run_id,
            commit=commit,
            properties=properties,
            owners=owners,
        )

    # -- reads -------------------------------------------------------------------------------

    def get(self, node_id: str, *, as_of: datetime | None = None) -> Node:
        """One node. Raises NotFoundError."""
        return self._backend.get(node_id, as_of)

    def search(
        self,
        text: str,
        *,
        kinds: Sequence[NodeKind | str] | None = None,
        limit: int = 20,
        as_of: datetime | None = None,
    ) -> list[Node]:
        return self._backend.search(text, _kinds(kinds), limit, as_of)

    def impact(
        self,
        node_id: str,
        *,
        depth: int | None = None,
        kinds: Sequence[NodeKind | str] | None = None,
        as_of: datetime | None = None,
    ) -> LineageGraph:
        """Everything downstream of ``node_id``."""
        return self._backend.lineage(node_id, Direction.DOWNSTREAM, depth, _kinds(kinds), as_of)

    def provenance(
        self,
        node_id: str,
        *,
        depth: int | None = None,
        kinds: Sequence[NodeKind | str] | None = None,
        as_of: datetime | None = None,
    ) -> LineageGraph:
        """Everything upstream of ``node_id``: its bill of materials."""
        return self._backend.lineage(node_id, Direction.UPSTREAM, depth, _kinds(kinds), as_of)

    def audit(
        self,
        *,
        principal: str | None = None,
        subject: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Audit entries, oldest first."""
        return self._backend.audit(
            principal=principal, subject=subject, action=action, since=since, until=until, limit=limit
        )

    def column_lineage(self, dataset_id: str, *, field: str | None = None) -> list[ColumnLineage]:
        """Column-level lineage into a dataset version (from OpenLineage ``columnLineage`` facets)."""
        return self._backend.column_lineage(dataset_id, field)

    def classifications(self, node_id: str, *, as_of: datetime | None = None) -> NodeClassifications:
        """The classifications a node carries, each with where it was set and the path it arrived by."""
        return self._backend.classifications(node_id, as_of)

    def classification_reach(
        self, classification: str, *, kinds: Sequence[NodeKind | str] | None = None, as_of: datetime | None = None
    ) -> ClassificationReach:
        """Every node a classification (or a narrower one) reaches, with kinds and owners."""
        return self._backend.classification_reach(classification, _kinds(kinds), as_of)
