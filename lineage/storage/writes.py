"""The write rules, written once for every backend: validation, idempotence, cycles, audit.

Each function opens one write transaction on the store, checks everything against the batch and
the stored graph, and either writes all of it plus one audit entry, or raises and writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from lineage.audit import AuditEntry, facts, seal
from lineage.audit.facts import Writes, canonical_json, micros
from lineage.errors import (
    ConflictError,
    CycleError,
    NotFoundError,
    SchemaViolationError,
    UnknownReferenceError,
    ValidationError,
)
from lineage.model import Batch, EdgeType, NodeKind, WriteResult
from lineage.model.batch import batch_document
from lineage.model.ids import edge_id, is_edge_id, parse_edge_id, parse_node_id
from lineage.model.kinds import ALLOWED_EDGES, ANNOTATION_KEYS, allowed_targets
from lineage.storage.base import NewEdge, NewNode, TokenRecord, WriteTx, gc_paused, node_retraction_reason

if TYPE_CHECKING:
    from lineage.storage.base import GraphStore

EdgeKey = tuple[str, EdgeType, str]


def check_node_id(node_id: str) -> NodeKind:
    try:
        return parse_node_id(node_id).kind
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


@dataclass(slots=True)
class _Plan:
    """What a registration writes, worked out before anything is written."""

    new_nodes: list[NewNode]
    updates: list[tuple[str, dict[str, Any], Any]]
    new_edges: list[NewEdge]
    owners: list[tuple[str, str, str]]
    unchanged: int
    node_ids: list[str]  # the id of every node of the batch, in order


def _static_checks(batch: Batch) -> None:
    """Rules that need no store: duplicates, schema triples, self-loops."""
    seen: dict[str, int] = {}
    kinds: dict[str, NodeKind] = {}  # the kind an id names, known for batch nodes without parsing
    for i, node in enumerate(batch.nodes):
        node_id = node.id
        first = seen.setdefault(node_id, i)
        if first != i and batch.nodes[first] != node:
            raise ValidationError(
                f"nodes[{i}] ({node_id}) repeats nodes[{first}] with different content; "
                "register one node per id in a batch"
            )
        kinds[node_id] = node.kind
    for i, edge in enumerate(batch.edges):
        src = kinds.get(edge.source) or _kind_of(edge.source)
        dst = kinds.get(edge.target) or _kind_of(edge.target)
        if (src, edge.type, dst) not in ALLOWED_EDGES:
            targets = allowed_targets(src, edge.type)
            allowed = (
                f"a {src.value} -{edge.type.value}-> may only point to {', '.join(t.value for t in targets)}"
                if targets
                else f"a {src.value} has no {edge.type.value} edges"
            )
            raise SchemaViolationError(
                f"edges[{i}] ({edge.id}): {src.value} -{edge.type.value}-> {dst.value} is not allowed by "
                f"the lineage schema; {allowed} (see `lineage schema edges`)",
                details={"element": f"edges[{i}]", "rule": "schema"},
            )
        if edge.source == edge.target:
            raise CycleError(
                f"edges[{i}] ({edge.id}): a node cannot derive from itself",
                details={"element": f"edges[{i}]", "rule": "acyclic"},
            )


_BY_PREFIX = {kind.prefix: kind for kind in NodeKind}


def _kind_of(node_id: str) -> NodeKind:
    """The kind a node id names: its prefix (edge ends were parsed when the edge was validated)."""
    kind = _BY_PREFIX.get(node_id.partition(":")[0])
    return kind if kind is not None else parse_node_id(node_id).kind


def _plan(tx: WriteTx, batch: Batch) -> _Plan:
    node_ids = [n.id for n in batch.nodes]
    batch_nodes = dict(zip(node_ids, batch.nodes, strict=True))
    wanted = list(
        dict.fromkeys([*batch_nodes, *(e.source for e in batch.edges), *(e.target for e in batch.edges)])
    )
    stored = tx.nodes(wanted)
    for node_id, node in stored.items():
        if node.retracted_at is not None and (
            node_id in batch_nodes or any(node_id in (e.source, e.target) for e in batch.edges)
        ):
            where = _element_of(batch, node_id)
            raise ConflictError(
                f"{where} ({node_id}): this node was retracted at {node.retracted_at.isoformat()}; "
                "retracted lineage cannot be registered again, register a new version instead",
                details={"element": where, "rule": "retracted"},
            )
    new_nodes: list[NewNode] = []
    updates: list[tuple[str, dict[str, Any], Any]] = []
    unchanged = 0
    for spec_id, spec in batch_nodes.items():
        old = stored.get(spec_id)
        if old is None:
            props = dict(spec.properties)
            new_nodes.append(
                NewNode(
                    spec_id,
                    spec.kind,
                    spec.namespace,
                    spec.name,
                    spec.version,
                    props,
                    spec.event_time,
                    canonical_json(props),
                )
            )
            continue
        merged = {**old.properties, **spec.properties}
        event_time = spec.event_time or old.event_time
        if merged != old.properties or event_time != old.event_time:
            updates.append((spec_id, merged, event_time))
        else:
            unchanged += 1

    first: dict[EdgeKey, int] = {}  # each distinct edge and where it first occurs in the batch
    for i, edge in enumerate(batch.edges):
        src, dst = edge.source, edge.target
        if (src not in batch_nodes and src not in stored) or (dst not in batch_nodes and dst not in stored):
            end, label = (src, "from") if src not in batch_nodes and src not in stored else (dst, "to")
            raise UnknownReferenceError(
                f"edges[{i}] ({edge.id}): '{label}' node {end} is neither in the store nor in this "
                "batch; register it first or add it to the batch",
                details={"element": f"edges[{i}]", "rule": "reference", "missing": end},
            )
        first.setdefault((src, edge.type, dst), i)
    # Only an edge between two stored nodes can be stored already: a new node has no edges.
    candidates = [k for k in first if k[0] in stored and k[2] in stored]
    existing_edges = tx.edges(candidates) if candidates else {}
    if existing_edges:
        for i, edge in enumerate(batch.edges):
            found = existing_edges.get((edge.source, edge.type, edge.target))
            if found is not None:
                if found.retracted_at is not None:
                    raise ConflictError(
                        f"edges[{i}] ({edge.id}): this edge was retracted at {found.retracted_at.isoformat()}; "
                        "retracted lineage cannot be registered again",
                        details={"element": f"edges[{i}]", "rule": "retracted"},
                    )
                unchanged += 1
    new_edges: list[NewEdge] = []
    edges = batch.edges
    for key, i in first.items():
        if key in existing_edges:
            continue
        edge = edges[i]
        # Both ends are batch nodes or stored nodes (checked above); their kind is the id's.
        src_node, dst_node = batch_nodes.get(key[0]), batch_nodes.get(key[2])
        props = edge.properties
        new_edges.append(
            NewEdge(
                key[0],
                src_node.kind if src_node is not None else stored[key[0]].kind,
                key[1],
                key[2],
                dst_node.kind if dst_node is not None else stored[key[2]].kind,
                dict(props) if props else {},
                edge.event_time,
                canonical_json(props) if props else "{}",
            )
        )
    _check_cycles(tx, batch, new_edges, set(stored))

    # Owners: a batch adds the owners it declares that a node lacks, except those removed explicitly
    # (`lineage owner remove`, annotate remove/replace): an explicit removal wins over a batch that
    # re-declares the owner unchanged, or every CI re-run would silently re-add it. Re-adding a
    # removed owner is explicit too (`lineage owner add`).
    owner_ids = [i for i, n in batch_nodes.items() if n.owners]
    current = tx.annotations([i for i in owner_ids if i in stored], "owner") if owner_ids else {}
    owners = [
        (i, "owner", o)
        for i, n in batch_nodes.items()
        for o in dict.fromkeys(n.owners)
        if o not in current.get(i, set())
    ]
    if owners:
        readded = [i for i, _k, _o in owners if i in stored]
        removed = tx.removed_annotations(sorted(set(readded)), "owner") if readded else {}
        owners = [(i, k, o) for i, k, o in owners if o not in removed.get(i, set())]
    return _Plan(new_nodes, updates, new_edges, owners, unchanged, node_ids)


def _element_of(batch: Batch, node_id: str) -> str:
    for i, node in enumerate(batch.nodes):
        if node.id == node_id:
            return f"nodes[{i}]"
    for i, edge in enumerate(batch.edges):
        if node_id in (edge.source, edge.target):
            return f"edges[{i}]"
    return "batch"


def _acyclic(pairs: Sequence[tuple[str, str]]) -> bool:
    """Whether the directed graph of the (from, to) pairs has no cycle (Kahn's algorithm, linear)."""
    successors: dict[str, list[str]] = {}
    indegree: dict[str, int] = {}
    for u, v in pairs:
        successors.setdefault(u, []).append(v)
        indegree.setdefault(u, 0)
        indegree[v] = indegree.get(v, 0) + 1
    ready = [n for n, d in indegree.items() if d == 0]
    removed = 0
    while ready:
        node = ready.pop()
        removed += 1
        for nxt in successors.get(node, ()):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    return removed == len(indegree)


def _check_cycles(tx: WriteTx, batch: Batch, new_edges: list[NewEdge], stored: set[str]) -> None:
    """Refuse edges that would close a cycle, through the batch and the stored graph together.

    Only stored paths between a stored target of a new edge and a stored source of a new edge can
    close a cycle (new nodes have no stored edges), so the store is searched only from those
    targets and only when both sets are non-empty: the usual batch costs no store traversal. One
    breadth-first walk from all of them together adds the stored edges it meets, so the cost is
    linear in the stored part reached and a refused cycle is reported with its real stored steps.
    """
    if not new_edges:
        return
    pairs = [(e.source, e.target) for e in new_edges]
    sources = {e.source for e in new_edges if e.source in stored}
    targets = {e.target for e in new_edges if e.target in stored}
    if sources and targets:
        seen = set(targets)
        frontier = sorted(targets)
        while frontier:
            nxt = []
            for origin, reached in tx.successors(frontier):
                pairs.append((origin, reached))
                if reached not in seen:
                    seen.add(reached)
                    nxt.append(reached)
            frontier = nxt
    # A linear test first: networkx would spend more building its graph than the test costs, and
    # find_cycle alone re-walks shared descendants from every root (quadratic on wide DAGs). The
    # graph is built, and find_cycle run, only to name a cycle that exists.
    if _acyclic(pairs):
        return
    import networkx as nx  # only to name a cycle that exists; a CLI run that registers never pays for it

    graph = nx.DiGraph()
    graph.add_edges_from(pairs)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return
    cycle_nodes = [u for u, _v, *_ in cycle]
    index = {(e.source, e.type, e.target): i for i, e in enumerate(batch.edges)}
    culprit = next(
        (
            f"edges[{index[(e.source, e.type, e.target)]}] ({e.source} -{e.type.value}-> {e.target})"
            for e in new_edges
            if (e.source, e.target) in {(u, v) for u, v, *_ in cycle}
        ),
        "batch",
    )
    raise CycleError(
        f"{culprit} would make {cycle_nodes[0]} derive from itself: "
        f"{' -> '.join([*cycle_nodes, cycle_nodes[0]])}",
        details={"element": culprit.split(" ")[0], "rule": "acyclic", "cycle": cycle_nodes},
    )


def register(store: GraphStore, batch: Batch, *, principal: str, source: str) -> WriteResult:
    with gc_paused():
        _static_checks(batch)
        with store.write() as tx:
            return register_in(tx, batch, principal=principal, source=source, checked=True)


def register_in(
    tx: WriteTx,
    batch: Batch,
    *,
    principal: str,
    source: str,
    checked: bool = False,
    about: dict[str, Any] | None = None,
) -> WriteResult:
    """Register a batch inside a write transaction the caller holds, with the rules of ``register``.

    For writers that must read, decide and write atomically (the OpenLineage mapper merges a run's
    state with what is stored). Raises the errors of ``register`` before writing anything.
    ``about``: what the audit entry's payload says the registration came from, in place of the
    batch itself (a mapper whose input is kept elsewhere, e.g. in the landing zone); the facts of
    the entry record every row written either way.
    """
    if not checked:
        _static_checks(batch)
    plan = _plan(tx, batch)
    result = WriteResult(
        nodes_created=len(plan.new_nodes),
        nodes_updated=len(plan.updates),
        edges_created=len(plan.new_edges),
        unchanged=plan.unchanged,
        node_ids=plan.node_ids,
    )
    if not (plan.new_nodes or plan.updates or plan.new_edges or plan.owners):
        return result
    at = tx.now()
    head = tx.audit_head()
    send = _stage(tx, plan, at, principal)
    if len(plan.new_nodes) + len(plan.new_edges) < OVERLAP_MIN:
        send()
        entry = _register_entry(head, batch, plan, result, at, principal, source, about)
    else:
        # The rows go to the database from a second thread while this one computes the audit
        # digests: the database's own work (SQLite's B-trees, Neo4j's round trips) runs without the
        # GIL, so on two cores the two overlap. The rows were built and encoded above, on this
        # thread, so the second one mostly waits on the database rather than on the GIL. The entry
        # is appended only once every row is in, and leaving the pool waits for the rows even when
        # this thread fails, so the transaction is committed or rolled back only when nothing else
        # is using it.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1, thread_name_prefix="lineage-write") as pool:
            rows = pool.submit(send)
            entry = _register_entry(head, batch, plan, result, at, principal, source, about)
            rows.result()
    _append(tx, entry, result, at)
    return result


#: Registrations writing at least this many nodes and edges write them while the audit entry is computed.
OVERLAP_MIN = 2_000


def _stage(tx: WriteTx, plan: _Plan, at: Any, principal: str) -> Callable[[], None]:
    """The plan's new rows built on this thread; the call returned writes the whole plan."""
    send_nodes = tx.stage_nodes(plan.new_nodes, at, principal)
    send_edges = tx.stage_edges(plan.new_edges, at, principal)

    def send() -> None:
        send_nodes()
        tx.update_nodes(plan.updates, at, principal)
        send_edges()
        tx.add_annotations(plan.owners, at, principal)

    return send


def _register_entry(
    head: tuple[int, str],
    batch: Batch,
    plan: _Plan,
    result: WriteResult,
    at: Any,
    principal: str,
    source: str,
    about: dict[str, Any] | None = None,
) -> AuditEntry:
    """The audit entry of a registration after the entry ``head`` (seq, hash); touches no store."""
    writes = _registered(plan, principal)
    subjects = dict.fromkeys(
        [
            *(n.id for n in plan.new_nodes),
            *(u[0] for u in plan.updates),
            *(o[0] for o in plan.owners),
            *(end for e in plan.new_edges for end in (e.source, e.target)),
        ]
    )
    payload = {
        **({"batch": batch_document(batch)} if about is None else about),
        "summary": {k: v for k, v in result.to_dict().items() if k not in ("audit_seq", "recorded_at")},
    }
    return _entry(head, at, principal, source, "register", list(subjects), payload, writes)


def _registered(plan: _Plan, by: str) -> Writes:
    """The facts a registration writes (canonical form: :mod:`lineage.audit.facts`)."""
    w = Writes()
    # Kinds and edge types are str enums: they encode as their values.
    w.add_many(facts.NODE, [(n.id, n.kind, n.namespace, n.name, n.version, by) for n in plan.new_nodes])
    w.add_many(
        facts.REVISION,
        [
            *((n.id, by, n.properties_json, micros(n.event_time)) for n in plan.new_nodes),
            *((node_id, by, canonical_json(props), micros(t)) for node_id, props, t in plan.updates),
        ],
    )
    w.add_many(
        facts.EDGE,
        [
            (e.source, e.type, e.target, e.source_kind, e.target_kind, e.properties_json, micros(e.event_time), by)
            for e in plan.new_edges
        ],
    )
    w.add_many(facts.ANNOTATION, [(node_id, key, value, by) for node_id, key, value in plan.owners])
    return w


def _audit(
    tx: WriteTx,
    at: Any,
    principal: str,
    source: str,
    action: str,
    subjects: Sequence[str],
    payload: Any,
    result: WriteResult,
    writes: Writes,
) -> None:
    _append(tx, _entry(tx.audit_head(), at, principal, source, action, subjects, payload, writes), result, at)


def _append(tx: WriteTx, entry: AuditEntry, result: WriteResult, at: Any) -> None:
    """Append a write's audit entry and tell its result where it stands in the log."""
    tx.append_audit(entry)
    result.audit_seq = entry.seq
    result.recorded_at = at


def _entry(
    head: tuple[int, str],
    at: Any,
    principal: str,
    source: str,
    action: str,
    subjects: Sequence[str],
    payload: Any,
    writes: Writes,
) -> AuditEntry:
    seq, prev = head
    return seal(
        seq=seq + 1,
        at=at,
        principal=principal,
        source=source,
        action=action,
        subjects=subjects,
        payload=payload,
        prev_hash=prev,
        writes=writes.record(),
    )


def retract(store: GraphStore, target: str, *, reason: str, principal: str, source: str) -> WriteResult:
    if not reason or not reason.strip():
        raise ValidationError("a retraction needs a reason (--reason TEXT)")
    result = WriteResult()
    if is_edge_id(target):
        try:
            key = parse_edge_id(target)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        with store.write() as tx:
            found = tx.edges([key]).get(key)
            if found is None:
                raise NotFoundError(f"no edge {target!r}")
            if found.retracted_at is not None:
                raise ConflictError(
                    f"edge {target!r} was already retracted at {found.retracted_at.isoformat()}"
                )
            at = tx.now()
            tx.retract_edge(key, at, principal, reason)
            w = Writes()
            w.add(facts.EDGE_RETRACTION, (key[0], key[1].value, key[2], principal, reason))
            _audit(
                tx,
                at,
                principal,
                source,
                "retract",
                [key[0], key[2]],
                {"target": target, "reason": reason},
                result,
                w,
            )
        return result
    check_node_id(target)
    with store.write() as tx:
        node = tx.nodes([target]).get(target)
        if node is None:
            raise NotFoundError(f"no node {target!r}; try `lineage search` to find its id")
        if node.retracted_at is not None:
            raise ConflictError(f"node {target!r} was already retracted at {node.retracted_at.isoformat()}")
        at = tx.now()
        w = Writes()
        edges = _retract_node(tx, w, target, at, principal, reason)
        _audit(
            tx,
            at,
            principal,
            source,
            "retract",
            [target],
            {"target": target, "reason": reason, "edges_retracted": edges},
            result,
            w,
        )
    return result


def retract_in(
    tx: WriteTx,
    *,
    nodes: Sequence[str] = (),
    edges: Sequence[EdgeKey] = (),
    reason: str,
    principal: str,
    source: str,
) -> WriteResult:
    """Retract current nodes (with their edges) and edges inside a write transaction the caller
    holds, in one audit entry. Absent or already retracted ones are skipped.

    Used by mappers that re-link lineage when a late event changes what an earlier one resolved to.
    """
    result = WriteResult()
    found_nodes = tx.nodes(list(dict.fromkeys(nodes))) if nodes else {}
    live_nodes = [n for n in dict.fromkeys(nodes) if n in found_nodes and found_nodes[n].retracted_at is None]
    found = tx.edges(list(dict.fromkeys(edges))) if edges else {}
    live = [k for k in dict.fromkeys(edges) if k in found and found[k].retracted_at is None]
    if not live and not live_nodes:
        return result
    at = tx.now()
    w = Writes()
    for key in live:
        tx.retract_edge(key, at, principal, reason)
        w.add(facts.EDGE_RETRACTION, (key[0], key[1].value, key[2], principal, reason))
    edges_by_nodes = sum(_retract_node(tx, w, n, at, principal, reason) for n in live_nodes)
    subjects = list(dict.fromkeys([*live_nodes, *(n for k in live for n in (k[0], k[2]))]))
    payload = {
        "targets": [*live_nodes, *(edge_id(*k) for k in live)],
        "reason": reason,
        "edges_retracted": len(live) + edges_by_nodes,
    }
    _audit(tx, at, principal, source, "retract", subjects, payload, result, w)
    return result


def _retract_node(tx: WriteTx, w: Writes, node_id: str, at: Any, by: str, reason: str) -> int:
    """Retract a node and its current edges, adding the facts; the number of edges retracted."""
    keys = tx.retract_node(node_id, at, by, reason)
    w.add(facts.NODE_RETRACTION, (node_id, by, reason))
    edge_reason = node_retraction_reason(node_id, reason)
    for src, edge_type, dst in keys:
        w.add(facts.EDGE_RETRACTION, (src, edge_type.value, dst, by, edge_reason))
    return len(keys)


def annotate(
    store: GraphStore,
    node_id: str,
    key: str,
    *,
    add: Sequence[str],
    remove: Sequence[str],
    replace: Sequence[str] | None,
    principal: str,
    source: str,
    payload: dict[str, Any] | None,
) -> WriteResult:
    if key not in ANNOTATION_KEYS:
        raise ValidationError(
            f"unknown annotation {key!r}; expected one of {', '.join(sorted(ANNOTATION_KEYS))}"
        )
    check_node_id(node_id)
    for value in [*add, *remove, *(replace or [])]:
        if not value or len(value) > 200 or not value.strip():
            raise ValidationError(f"{key} value {value!r} must be 1 to 200 non-blank characters")
    result = WriteResult()
    with store.write() as tx:
        node = tx.nodes([node_id]).get(node_id)
        if node is None or node.retracted_at is not None:
            raise NotFoundError(f"no node {node_id!r}")
        current = tx.annotations([node_id], key).get(node_id, set())
        if replace is not None:
            to_add = [v for v in dict.fromkeys(replace) if v not in current]
            to_remove = sorted(current - set(replace))
        else:
            to_add = [v for v in dict.fromkeys(add) if v not in current]
            to_remove = sorted(current & set(remove))
        if not to_add and not to_remove:
            result.unchanged = 1
            return result
        at = tx.now()
        tx.add_annotations([(node_id, key, v) for v in to_add], at, principal)
        tx.retract_annotations([(node_id, key, v) for v in to_remove], at, principal)
        body = {"node": node_id, "key": key, "added": to_add, "removed": to_remove, **(payload or {})}
        w = Writes()
        for v in to_add:
            w.add(facts.ANNOTATION, (node_id, key, v, principal))
        for v in to_remove:
            w.add(facts.ANNOTATION_RETRACTION, (node_id, key, v, principal))
        _audit(tx, at, principal, source, f"annotate.{key}", [node_id], body, result, w)
        result.nodes_updated = 1
    return result


def record_token(store: GraphStore, token: TokenRecord, *, principal: str, source: str = "cli") -> WriteResult:
    result = WriteResult()
    with store.write() as tx:
        if any(t.name == token.name and t.revoked_at is None for t in store.tokens()):
            raise ConflictError(
                f"a token named {token.name!r} already exists; revoke it or pick another name"
            )
        at = tx.now()
        token = replace(token, created_at=at)  # bound to its entry by time, like every row
        tx.put_token(token)
        w = Writes()
        w.add(
            facts.TOKEN,
            (token.name, token.role, canonical_json(list(token.namespaces)), token.secret_hash, token.created_by),
        )
        _audit(
            tx,
            at,
            principal,
            source,
            "token.create",
            [],
            {"name": token.name, "role": token.role, "namespaces": list(token.namespaces)},
            result,
            w,
        )
    return result


def revoke_token(store: GraphStore, name: str, *, principal: str, source: str = "cli") -> WriteResult:
    result = WriteResult()
    with store.write() as tx:
        active = [t for t in store.tokens() if t.name == name and t.revoked_at is None]
        at = tx.now()
        if not tx.revoke_token(name, at):
            raise NotFoundError(f"no active token named {name!r}")
        w = Writes()
        for t in active:
            w.add(facts.TOKEN_REVOCATION, (t.secret_hash,))
        _audit(tx, at, principal, source, "token.revoke", [], {"name": name}, result, w)
    return result


def raw_event_text(payload: Any) -> str:
    """How the landing zone keeps an event: its JSON as received (key order kept), non-ASCII as is."""
    return json.dumps(payload, ensure_ascii=False)


def land_raw_events_in(
    tx: WriteTx, source: str, payloads: Sequence[Any], *, principal: str
) -> list[int]:
    """Keep incoming events unchanged (the landing zone) inside a write transaction the caller
    holds, with one audit entry for them; their sequence numbers, in order."""
    if not payloads:
        return []
    texts = [raw_event_text(p) for p in payloads]
    at = tx.now()
    seqs = tx.insert_raw_events(source, texts, at)
    w = Writes()
    for seq, text in zip(seqs, texts, strict=True):
        w.add(facts.RAW_EVENT, (seq, source, text))
    body = {"source": source, "events": len(seqs), "first": seqs[0], "last": seqs[-1]}
    _audit(tx, at, principal, source, "land", [], body, WriteResult(), w)
    return seqs


def land_raw_events(store: GraphStore, source: str, payloads: Sequence[Any], *, principal: str) -> list[int]:
    if not payloads:
        return []
    with store.write() as tx:
        return land_raw_events_in(tx, source, payloads, principal=principal)
