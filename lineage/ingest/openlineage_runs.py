"""Planning what one OpenLineage event writes: nodes, edges, and links that a late event corrects.

A plan is computed from the event and the stored graph inside the write transaction that applies
it (see :mod:`lineage.ingest.openlineage`), so concurrent events for the same run cannot lose each
other's state. Mapping (one RunEvent):

- the job run becomes a Run ``run:<job namespace>/<job name>@<runId>`` whose properties merge every
  event of the run (state, times, promoted facets; :mod:`openlineage_state`);
- each output becomes a Dataset version produced by the run: the dataset version facet when
  present, else ``run-<runId>``; a version facet that arrives later folds the ``run-`` version
  into it;
- each input becomes an INPUT_TO edge from the version current when the run first mentioned the
  dataset (:mod:`openlineage_resolve`); datasets an output's ``columnLineage`` reads are inputs too;
- ``sourceCodeLocation`` with a commit becomes a CodeCommit EXECUTED_IN the run; ``parent`` names
  the parent run (property ``parent_run``, and a stub Run so the id resolves); ``ownership`` facets
  add owners.

A new output version can change what earlier readers resolved to (they read the dataset after it
was produced but their events arrived first): those readers are re-linked, the old INPUT_TO edge
retracted with a reason, so the final graph does not depend on arrival order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage.ingest.openlineage_events import DatasetEvent, DatasetRef, JobEvent, RunEvent
from lineage.ingest.openlineage_facets import (
    RunKey,
    column_inputs,
    dataset_claims,
    dataset_version,
    owner_names,
    parent_of,
    run_claims,
    source_commit,
)
from lineage.ingest.openlineage_resolve import (
    PLACEHOLDER,
    DatasetVersions,
    VersionCache,
    dataset_id,
    dataset_key,
    output_version,
)
from lineage.ingest.openlineage_state import (
    mentions,
    merge_dataset_mention,
    merge_mentions,
    merge_props,
    merge_run_event,
    merge_union,
)
from lineage.model import EdgeSpec, EdgeType, NodeKind, NodeSpec
from lineage.model.batch import prevalidated_node
from lineage.storage.base import Direction, GraphStore, WriteTx

EdgeKey = tuple[str, EdgeType, str]
_RUN_PREFIX = f"{NodeKind.RUN.prefix}:"  # how the ids of Run nodes begin
_DATASET_PREFIX = f"{NodeKind.DATASET.prefix}:"

#: Run properties the mapping keeps for itself: when each input was mentioned, pinned versions.
MENTIONS, INPUTS_PINNED, OUTPUTS_PINNED = "_ol_inputs", "_ol_inputs_pinned", "_ol_outputs_pinned"

#: Ranks of dataset claims: what a producing run says beats a dataset event, which beats readers.
RANK_OUTPUT, RANK_DATASET_EVENT, RANK_INPUT = 2, 1, 0


def _spec(
    *,
    kind: NodeKind,
    namespace: str,
    name: str,
    version: str | None,
    properties: dict[str, Any],
    event_time: datetime | None = None,
    owners: list[str] | None = None,
) -> NodeSpec:
    """A node the mapping built. Validated like any NodeSpec, except that parts already in the form
    validation would give them (the usual case: the mapping builds plain JSON from parsed events)
    are taken as they are; anything else goes through full validation and its errors."""
    owners = owners or []
    fast = prevalidated_node(kind, namespace, name, version, owners, properties, event_time)
    if fast is not None:
        return fast
    return NodeSpec(
        kind=kind,
        namespace=namespace,
        name=name,
        version=version,
        event_time=event_time,
        owners=owners,
        properties=properties,
    )


@dataclass(slots=True)
class Plan:
    nodes: dict[str, NodeSpec] = field(default_factory=dict)
    edges: dict[EdgeKey, EdgeSpec] = field(default_factory=dict)
    retract_edges: list[EdgeKey] = field(default_factory=list)
    retract_nodes: list[str] = field(default_factory=list)
    subject: str | None = None

    def node(self, spec: NodeSpec) -> None:
        self.nodes[spec.id] = spec

    def edge(self, src: str, kind: EdgeType, dst: str) -> None:
        # ids made by node_id() are well formed; registration checks them again with the schema
        self.edges[(src, kind, dst)] = EdgeSpec.model_construct(
            source=src, type=kind, target=dst, event_time=None, properties={}
        )


@dataclass(slots=True)
class Planner:
    """Reads what it needs from the store (inside the caller's transaction) and builds a Plan."""

    store: GraphStore
    tx: WriteTx
    cache: VersionCache
    #: Edges a previous attempt found to close a cycle: never planned again for this event.
    avoid: set[EdgeKey] = field(default_factory=set)
    _stored: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    _linked: dict[str, dict[tuple[str, str], set[str]]] = field(default_factory=dict)
    _planned: dict[tuple[str, str, str], set[EdgeKey]] = field(default_factory=dict)

    # -- reads -------------------------------------------------------------------------------

    def versions(self, namespace: str, name: str) -> DatasetVersions:
        return self.cache.get(self.store, namespace, name)

    def stored_props(self, nid: str) -> dict[str, Any] | None:
        """Properties of a visible node (dataset versions, and runs it keeps, from the version cache)."""
        if nid not in self._stored:
            if nid.startswith(_DATASET_PREFIX) and (key := dataset_key(nid)) is not None:
                return self.versions(key[0], key[1]).props(key[2])
            kept = self.cache.run(nid) if nid.startswith(_RUN_PREFIX) else None
            if kept is not None:
                self._stored[nid] = kept
            else:
                found = self.tx.nodes([nid]).get(nid)
                self._stored[nid] = dict(found.properties) if found and found.retracted_at is None else None
        return self._stored[nid]

    def _retracted_edge(self, key: EdgeKey) -> bool:
        return bool(self._retracted_edges([key]))

    def _retracted_edges(self, keys: list[EdgeKey]) -> set[EdgeKey]:
        """Which of these edges are stored and retracted (one read)."""
        if not keys:
            return set()
        return {k for k, found in self.tx.edges(keys).items() if found.retracted_at is not None}

    # -- datasets ----------------------------------------------------------------------------

    def _dataset(
        self,
        plan: Plan,
        ref_ns: str,
        ref_name: str,
        version: str,
        *,
        claims: dict[str, Any],
        rank: int,
        at: datetime,
        owners: list[str],
        produced_by: str | None = None,
    ) -> str:
        nid = dataset_id(ref_ns, ref_name, version)
        pending = plan.nodes.get(nid)
        base = dict(pending.properties) if pending else self.versions(ref_ns, ref_name).props(version)
        props = merge_dataset_mention(
            base, claims=claims, rank=rank, at=at, produced_by=produced_by, placeholder=version == PLACEHOLDER
        )
        when = props.get("produced_at")
        merged_owners = sorted({*owners, *(pending.owners if pending else [])})
        plan.node(
            _spec(
                kind=NodeKind.DATASET,
                namespace=ref_ns,
                name=ref_name,
                version=version,
                event_time=datetime.fromisoformat(when) if isinstance(when, str) else None,
                owners=merged_owners,
                properties=props,
            )
        )
        self.versions(ref_ns, ref_name).put(version, props)
        return nid

    # -- run events --------------------------------------------------------------------------

    def run_event(self, ev: RunEvent) -> Plan:
        plan = Plan()
        run = RunKey(ev.job.namespace, ev.job.name, ev.run.runId)
        rid = run.id
        plan.subject = rid
        at = ev.eventTime

        pinned_in = {(i.namespace, i.name): v for i in ev.inputs if (v := dataset_version(i.facets))}
        mentioned = [(i.namespace, i.name) for i in ev.inputs if (i.namespace, i.name) not in pinned_in]
        for out in ev.outputs:
            mentioned += [d for d in column_inputs(out.facets) if d not in pinned_in]
        mentioned = sorted(set(mentioned))

        props = merge_run_event(
            self.stored_props(rid),
            namespace=run.namespace,
            name=run.name,
            run_id=run.run_id,
            event_type=ev.eventType,
            at=at,
            producer=ev.producer,
            claims=run_claims(ev.run.facets, ev.job.facets),
        )
        merge_mentions(props, MENTIONS, mentioned, at)
        merge_union(props, INPUTS_PINNED, [[ns, name, v] for (ns, name), v in sorted(pinned_in.items())])
        pinned_out = [[o.namespace, o.name, v] for o in ev.outputs if (v := dataset_version(o.facets))]
        merge_union(props, OUTPUTS_PINNED, pinned_out)
        plan.node(
            _spec(
                kind=NodeKind.RUN,
                namespace=run.namespace,
                name=run.name,
                version=run.run_id,
                event_time=datetime.fromisoformat(props["first_event_at"]),
                owners=owner_names(ev.job.facets),
                properties=props,
            )
        )

        self._outputs(plan, ev, rid, props)
        self._inputs(plan, ev, rid, props, pinned_in)
        self._commit_and_parent(plan, ev, rid, run)
        return plan

    def _outputs(self, plan: Plan, ev: RunEvent, rid: str, run_props: dict[str, Any]) -> None:
        pinned: dict[tuple[str, str], list[str]] = {}
        for ns, name, version in run_props.get(OUTPUTS_PINNED) or []:
            pinned.setdefault((ns, name), []).append(version)
        for out in ev.outputs:
            own = dataset_version(out.facets)
            versions = [own] if own else pinned.get((out.namespace, out.name)) or [output_version(ev.run.runId)]
            for version in versions:
                known = self.versions(out.namespace, out.name).props(version)
                before = known or {}
                nid = self._dataset(
                    plan,
                    out.namespace,
                    out.name,
                    version,
                    claims=dataset_claims(out.facets, {}, out.outputFacets),
                    rank=RANK_OUTPUT,
                    at=ev.eventTime,
                    owners=owner_names(out.facets),
                    produced_by=rid,
                )
                plan.edge(rid, EdgeType.PRODUCED, nid)
                after = plan.nodes[nid].properties
                moved = ("produced_at", "produced_by")
                if any(before.get(k) != after.get(k) for k in moved):  # new, earlier, or a new producer
                    self._relink_readers(plan, out.namespace, out.name, version, new=known is None)
        # A version facet seen now makes the run's provisional ``run-<id>`` version redundant: fold it.
        provisional = output_version(ev.run.runId)
        for (ns, name), versions in sorted(pinned.items()):
            if provisional not in versions and self.versions(ns, name).props(provisional) is not None:
                self._fold(plan, ns, name, provisional, versions, rid)

    def _fold(self, plan: Plan, ns: str, name: str, provisional: str, pinned: list[str], rid: str) -> None:
        """Merge the provisional version into the pinned ones, re-link its readers, retract it."""
        versions = self.versions(ns, name)
        old_props = versions.props(provisional) or {}
        old_id = versions.id(provisional)
        old = self.store.get_nodes([old_id]).get(old_id)
        for version in pinned:
            nid = versions.id(version)
            pending = plan.nodes.get(nid)
            base = dict(pending.properties) if pending else (self.stored_props(nid) or {})
            merged = merge_props(base, old_props)
            when = merged.get("produced_at")
            plan.node(
                _spec(
                    kind=NodeKind.DATASET,
                    namespace=ns,
                    name=name,
                    version=version,
                    event_time=datetime.fromisoformat(when) if isinstance(when, str) else None,
                    owners=sorted({*(pending.owners if pending else []), *(old.owners if old else ())}),
                    properties=merged,
                )
            )
            versions.put(version, merged)
            plan.edge(rid, EdgeType.PRODUCED, nid)
        readers = self._readers_of(old_id)
        versions.drop(provisional)
        plan.retract_nodes.append(old_id)
        self._prefetch_linked([reader for reader, _ in readers])
        for reader, reader_props in readers:
            self._reconcile(plan, ns, name, reader, reader_props)

    def _readers_of(self, version_id: str) -> list[tuple[str, dict[str, Any]]]:
        """The runs reading a dataset version, with their properties: two light reads in the
        transaction (a dataset's only edges to runs are INPUT_TO)."""
        ids = sorted({dst for _, dst in self.tx.successors([version_id]) if dst.startswith(_RUN_PREFIX)})
        props = {i: kept for i in ids if (kept := self.cache.run(i)) is not None}
        missing = [i for i in ids if i not in props]
        for i, found in (self.tx.nodes(missing) if missing else {}).items():
            if found.retracted_at is None:
                props[i] = dict(found.properties)
                self.cache.keep_run(i, props[i])
        return [(i, props[i]) for i in ids if i in props]

    def _relink_readers(self, plan: Plan, ns: str, name: str, version: str, *, new: bool = False) -> None:
        """A version produced (or known to be produced) earlier than before changes what readers of
        the version before it, and of itself, read at their mention times. A ``new`` version (not
        stored before this event) has no readers of its own yet."""
        versions = self.versions(ns, name)
        before = versions.predecessor(version)
        affected: list[tuple[str, dict[str, Any]]] = []
        for target in dict.fromkeys([before] if new else [before, version]):
            for reader, reader_props in self._readers_of(versions.id(target)):
                if reader == plan.subject:
                    continue
                if target == before and target != version:
                    # Links match what readers resolve to after every event; this one only moved
                    # ``version``, so a reader still resolving every mention to ``before`` is unchanged.
                    times = mentions(reader_props, MENTIONS).get((ns, name)) or []
                    if {versions.resolve(t, reader) for t in times} == {before}:
                        continue
                affected.append((reader, reader_props))
        # Reconciling reads nothing _readers_of depends on, so the links of every affected reader
        # are read in one query first.
        self._prefetch_linked([reader for reader, _ in affected])
        for reader, reader_props in affected:
            self._reconcile(plan, ns, name, reader, reader_props)

    def _reconcile(self, plan: Plan, ns: str, name: str, reader: str, reader_props: dict[str, Any]) -> None:
        """Link ``reader`` to the versions of the dataset current at each time it mentioned it; retract
        links that no longer hold. Versions the reader pinned with a version facet are left alone."""
        times = mentions(reader_props, MENTIONS).get((ns, name))
        if not times:
            return
        versions = self.versions(ns, name)
        pinned = {v for pns, pname, v in reader_props.get(INPUTS_PINNED) or [] if (pns, pname) == (ns, name)}
        current = {v for v in self._linked_inputs(reader).get((ns, name), set()) if v not in pinned}
        wanted = {versions.resolve(t, reader) for t in times}
        links = {v: (versions.id(v), EdgeType.INPUT_TO, reader) for v in wanted}
        for earlier in self._planned.pop((reader, ns, name), set()) - set(links.values()):
            plan.edges.pop(earlier, None)  # planned by an earlier step of this event, now superseded
        self._planned[(reader, ns, name)] = set(links.values())
        retracted = self._retracted_edges([link for v, link in links.items() if v not in current])
        blocked = {v for v, link in links.items() if link in self.avoid or link in retracted}
        if blocked:
            # A link this run once had and lost (only concurrent writers of one dataset whose events
            # arrive out of order cause it): keep what is linked rather than lose the input.
            fallback = (versions.id(PLACEHOLDER), EdgeType.INPUT_TO, reader)
            if not current and fallback not in self.avoid and not self._retracted_edge(fallback):
                plan.edge(*fallback)
            for v in sorted(wanted - blocked):
                plan.edge(*links[v])
            return
        for v in sorted(wanted):
            plan.edge(*links[v])
        for v in sorted(current - wanted):
            plan.retract_edges.append((versions.id(v), EdgeType.INPUT_TO, reader))

    def _inputs(
        self, plan: Plan, ev: RunEvent, rid: str, run_props: dict[str, Any], pinned_in: dict[tuple[str, str], str]
    ) -> None:
        refs: dict[tuple[str, str], DatasetRef | None] = {(r.namespace, r.name): r for r in ev.inputs}
        for out in ev.outputs:
            for dataset in column_inputs(out.facets):
                refs.setdefault(dataset, None)
        for (ns, name), ref in sorted(refs.items()):
            claims = dataset_claims(ref.facets, ref.inputFacets, {}) if ref else {}
            owners = owner_names(ref.facets) if ref else []
            if (ns, name) in pinned_in:
                nid = self._dataset(
                    plan, ns, name, pinned_in[(ns, name)], claims=claims, rank=RANK_INPUT, at=ev.eventTime,
                    owners=owners,
                )
                if (nid, EdgeType.INPUT_TO, rid) not in self.avoid:
                    plan.edge(nid, EdgeType.INPUT_TO, rid)
                continue
            if claims or owners or self.versions(ns, name).props(PLACEHOLDER) is None:
                self._dataset(
                    plan, ns, name, PLACEHOLDER, claims=claims, rank=RANK_INPUT, at=ev.eventTime, owners=owners
                )
            self._reconcile(plan, ns, name, rid, run_props)

    def _linked_inputs(self, rid: str) -> dict[tuple[str, str], set[str]]:
        if rid not in self._linked:
            self._linked[rid] = self._load_linked(rid)
        return self._linked[rid]

    def _load_linked(self, rid: str) -> dict[tuple[str, str], set[str]]:
        if self.stored_props(rid) is None:
            return {}
        return self._read_linked([rid])[rid]

    def _prefetch_linked(self, readers: list[str]) -> None:
        """Read the linked inputs of stored runs (readers found in the store) in one query."""
        todo = list(dict.fromkeys(r for r in readers if r not in self._linked))
        if todo:
            self._linked.update(self._read_linked(todo))

    def _read_linked(self, rids: list[str]) -> dict[str, dict[tuple[str, str], set[str]]]:
        """The dataset versions each run is linked to as an input, by dataset."""
        out: dict[str, dict[tuple[str, str], set[str]]] = {rid: {} for rid in rids}
        for hop in self.store.expand(rids, Direction.UPSTREAM):
            if hop.edge_type is EdgeType.INPUT_TO and (key := dataset_key(hop.reached)) is not None:
                out[hop.origin].setdefault(key[:2], set()).add(key[2])
        return out

    def _commit_and_parent(self, plan: Plan, ev: RunEvent, rid: str, run: RunKey) -> None:
        commit = source_commit(ev.job.facets)
        if commit is not None:
            spec = _spec(
                kind=NodeKind.CODE_COMMIT,
                namespace="git",
                name=commit.repo.name,
                version=commit.sha,
                properties={"repository": commit.repo.url},
            )
            plan.node(spec)
            plan.edge(spec.id, EdgeType.EXECUTED_IN, rid)
        parent, _root = parent_of(ev.run.facets)
        if parent is not None and parent.id != rid:
            if self.stored_props(parent.id) is None:
                plan.node(
                    _spec(
                        kind=NodeKind.RUN,
                        namespace=parent.namespace,
                        name=parent.name,
                        version=parent.run_id,
                        properties={"job": parent.name, "job_namespace": parent.namespace, "run_id": parent.run_id},
                    )
                )
            parent_edge = getattr(EdgeType, "PARENT_OF", None)
            if isinstance(parent_edge, EdgeType) and (parent.id, parent_edge, rid) not in self.avoid:
                plan.edge(parent.id, parent_edge, rid)

    # -- dataset and job events --------------------------------------------------------------

    def dataset_event(self, ev: DatasetEvent) -> Plan:
        plan = Plan()
        ref = ev.dataset
        version = dataset_version(ref.facets) or PLACEHOLDER
        plan.subject = self._dataset(
            plan,
            ref.namespace,
            ref.name,
            version,
            claims=dataset_claims(ref.facets, {}, {}),
            rank=RANK_DATASET_EVENT,
            at=ev.eventTime,
            owners=owner_names(ref.facets),
        )
        return plan

    def job_event(self, ev: JobEvent) -> Plan:
        """Static lineage: each declared input FEEDS each declared output (no run is recorded)."""
        plan = Plan()
        job = f"{ev.job.namespace}/{ev.job.name}"
        ins, outs = [], []
        for ref in ev.inputs:
            ins.append(
                self._dataset(
                    plan,
                    ref.namespace,
                    ref.name,
                    dataset_version(ref.facets) or PLACEHOLDER,
                    claims=dataset_claims(ref.facets, ref.inputFacets, {}),
                    rank=RANK_INPUT,
                    at=ev.eventTime,
                    owners=owner_names(ref.facets),
                )
            )
        for ref in ev.outputs:
            nid = self._dataset(
                plan,
                ref.namespace,
                ref.name,
                dataset_version(ref.facets) or PLACEHOLDER,
                claims=dataset_claims(ref.facets, {}, ref.outputFacets),
                rank=RANK_DATASET_EVENT,
                at=ev.eventTime,
                owners=owner_names(ref.facets),
            )
            spec = plan.nodes[nid]
            props = dict(spec.properties)
            merge_union(props, "declared_by_jobs", [job])
            plan.node(spec.model_copy(update={"properties": props}))
            outs.append(nid)
        for src in ins:
            for dst in outs:
                if src != dst and (src, EdgeType.FEEDS, dst) not in self.avoid:
                    plan.edge(src, EdgeType.FEEDS, dst)
        plan.subject = outs[0] if outs else (ins[0] if ins else None)
        return plan
