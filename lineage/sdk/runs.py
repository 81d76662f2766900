"""Fluent runs for training code: a Run registered as it starts, its inputs and outputs as they are
used, and its final state when the block ends (COMPLETE, or FAIL with the error if it raised)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from lineage.ingest.git import Commit, detect_commit
from lineage.model import Batch, EdgeSpec, EdgeType, NodeKind, NodeSpec, parse_node_id
from lineage.sdk.types import RegisterResult

#: What ``input``/``output`` accept: a node id, a NodeSpec, or a mapping with NodeSpec fields.
NodeLike = str | NodeSpec | dict[str, Any]


def as_spec(node: NodeLike, default_kind: NodeKind) -> tuple[str, NodeSpec | None]:
    """(node id, spec to register or None when only the id is known and must already exist)."""
    if isinstance(node, NodeSpec):
        return node.id, node
    if isinstance(node, dict):
        spec = NodeSpec.model_validate({"kind": default_kind, **node})
        return spec.id, spec
    parse_node_id(node)
    return node, None


class RunContext:
    """One run of a job. Use it as a context manager (``with client.run(...) as run``)."""

    def __init__(
        self,
        register: Callable[[Batch], RegisterResult],
        job: str,
        *,
        namespace: str = "sdk",
        run_id: str | None = None,
        commit: str | Commit | bool | None = True,
        properties: dict[str, Any] | None = None,
        owners: list[str] | None = None,
    ) -> None:
        self._register = register
        self.job = job
        self.namespace = namespace
        self.run_id = run_id or str(uuid.uuid4())
        self.properties: dict[str, Any] = dict(properties or {})
        self.owners = list(owners or [])
        self._commit = commit
        self.status: str | None = None
        self.id = NodeSpec(kind=NodeKind.RUN, namespace=namespace, name=job, version=self.run_id).id

    def _run(self, status: str, **extra: Any) -> NodeSpec:
        props = {"job": self.job, **self.properties, "status": status, **extra}
        return NodeSpec(
            kind=NodeKind.RUN,
            namespace=self.namespace,
            name=self.job,
            version=self.run_id,
            owners=self.owners,
            properties=props,
        )

    def _commit_spec(self) -> NodeSpec | None:
        value = self._commit
        if value is True:
            found = detect_commit(Path.cwd(), os.environ)
            return found.spec() if found else None
        if isinstance(value, Commit):
            return value.spec()
        if isinstance(value, str):
            if value.startswith("codecommit:"):
                key = parse_node_id(value)
                return NodeSpec(kind=NodeKind.CODE_COMMIT, namespace=key.namespace, name=key.name, version=key.version)
            found = detect_commit(Path.cwd(), os.environ)
            if found is None:
                raise ValueError(f"commit {value!r}: no git repository here to name it; pass a codecommit: id")
            return Commit(found.repo, value.lower()).spec()
        return None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> RegisterResult:
        started = datetime.now(UTC)
        run = self._run("RUNNING", started_at=started.isoformat())
        run = run.model_copy(update={"event_time": started})
        nodes = [run]
        edges = []
        commit = self._commit_spec()
        if commit is not None:
            nodes.append(commit)
            edges.append(EdgeSpec.model_validate({"from": commit.id, "type": EdgeType.EXECUTED_IN, "to": run.id}))
        self.status = "RUNNING"
        return self._register(Batch(nodes=nodes, edges=edges))

    def finish(self, status: str = "COMPLETE", error: BaseException | None = None) -> RegisterResult:
        extra: dict[str, Any] = {"ended_at": datetime.now(UTC).isoformat()}
        if error is not None:
            extra["error_message"] = f"{type(error).__name__}: {error}"[:2000]
        self.status = status
        return self._register(Batch(nodes=[self._run(status, **extra)]))

    def __enter__(self) -> RunContext:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.finish("COMPLETE")
        elif isinstance(exc, KeyboardInterrupt):
            self.finish("ABORT", exc)
        else:
            self.finish("FAIL", exc)
        # returning None re-raises the exception, if any

    # -- lineage -----------------------------------------------------------------------------

    def input(self, node: NodeLike) -> str:
        """Record that the run reads ``node`` (an id must already be recorded); return its id."""
        nid, spec = as_spec(node, NodeKind.DATASET)
        edge = EdgeSpec.model_validate({"from": nid, "type": EdgeType.INPUT_TO, "to": self.id})
        self._register(Batch(nodes=[spec] if spec else [], edges=[edge]))
        return nid

    def output(self, node: NodeLike, kind: NodeKind = NodeKind.DATASET) -> str:
        """Record that the run produced ``node`` (a dataset, feature or model version); return its id."""
        nid, spec = as_spec(node, kind)
        if spec is None:
            key = parse_node_id(nid)
            spec = NodeSpec(kind=key.kind, namespace=key.namespace, name=key.name, version=key.version)
        edge = EdgeSpec.model_validate({"from": self.id, "type": EdgeType.PRODUCED, "to": nid})
        self._register(Batch(nodes=[spec], edges=[edge]))
        return nid

    def model(self, name: str, version: str, *, namespace: str = "ml", **properties: Any) -> str:
        """Record the model version this run trained."""
        spec = NodeSpec(kind=NodeKind.MODEL, namespace=namespace, name=name, version=version, properties=properties)
        return self.output(spec)

    def log(self, **properties: Any) -> None:
        """Add properties (params, metrics) to the run; recorded now and kept at the end."""
        self.properties.update(properties)
        self._register(Batch(nodes=[self._run(self.status or "RUNNING")]))
