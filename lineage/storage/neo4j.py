"""The Neo4j store: the production backend, for one server, a cluster or Aura.

It implements the primitives of :class:`~lineage.storage.base.GraphStore` in parameterised Cypher;
every rule (validation, idempotence, cycles, audit chaining, breadth-first reach) stays generic in
``base.py`` and ``writes.py``, so both backends answer alike. Around this module: the statement
text in ``neo4j_cypher``, the write transaction in ``neo4j_tx``, record conversion in
``neo4j_records``, URLs and driver errors in ``neo4j_connect``, bulk copy in ``neo4j_bulk``.

- **Writes** run as managed transactions (``session.execute_write``): the driver retries the whole
  unit of work on transient failures (deadlocks, leader changes). Each begins by locking the audit
  head node, which serialises writers across processes and API replicas, so the audit chain never
  forks or skips.
- **Reads** of one statement run as auto-commit queries in read sessions: one Bolt round trip
  (RUN and PULL sent together), retried here on transient failures as the driver retries managed
  transactions. Reads of several statements run as managed read transactions. All sessions of one
  store share a bookmark manager, so a read sees every write this store made before it, also on a
  cluster.
- **A node read also reads the audit head** in the same statement (:meth:`Neo4jStore.get_node`),
  so a walk from that node catches its traversal index up without asking again: an impact report
  costs two round trips (start node with head, then the page of records shown).
- **Driver errors** are translated in one place, :func:`map_exceptions`.
- **Times** are integer microseconds since the epoch, exactly as in the embedded store.
"""

from __future__ import annotations

import functools
import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, LiteralString, ParamSpec, TypeVar, cast

import neo4j
import neo4j.exceptions as nex

from lineage.audit import GENESIS, AuditEntry
from lineage.errors import NotFoundError, ValidationError
from lineage.model import EdgeRecord, EdgeType, NodeKind, NodeRecord
from lineage.storage import neo4j_cypher as q
from lineage.storage.base import (
    Annotation,
    AuditFilter,
    Direction,
    GraphStore,
    Hop,
    NodeFilter,
    RawEvent,
    Reach,
    Revision,
    Section,
    TokenRecord,
)
from lineage.storage.neo4j_connect import map_exceptions, quiet_driver_logs, redact, split_url
from lineage.storage.neo4j_records import (
    EDGE_BY_NAME,
    KIND_BY_PREFIX,
    annotation_of,
    as_of_us,
    ascii_lower,
    at_us,
    chunks,
    edge_of,
    entry_of,
    hydrate,
    token_of,
    us,
)
from lineage.storage.neo4j_tx import Neo4jWriteTx
from lineage.storage.sqlite import from_us

if TYPE_CHECKING:
    from lineage.storage.index import TraversalIndex
    from lineage.storage.neo4j_verify import Neo4jRows

__all__ = ["Neo4jStore", "SchemaChange", "map_exceptions", "redact", "split_url"]

P = ParamSpec("P")
R = TypeVar("R")

_PAGE = 5_000
#: About this much audit payload and subject text is read at a time (see :meth:`Neo4jStore.iter_audit`).
AUDIT_PAGE_BYTES = 32 * 2**20


@dataclass(slots=True)
class SchemaChange:
    """What :meth:`Neo4jStore.ensure_schema` did, by constraint or index name."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


_OBSOLETE_NAME = re.compile(r"^lineage_[a-z0-9_]+$")


def _drop_index(name: str) -> LiteralString:
    """DROP statement for one of our own obsolete indexes, by a name the server listed.

    Schema names cannot be parameters; only names of the strict ``lineage_[a-z0-9_]+`` shape get here.
    """
    if not _OBSOLETE_NAME.match(name):
        raise ValueError(f"refusing to drop index {name!r}")
    return f"DROP INDEX {name} IF EXISTS"


def _consume(tx: neo4j.ManagedTransaction, statement: LiteralString, params: dict[str, Any]) -> None:
    tx.run(statement, params).consume()


def _managed(method: Callable[P, R]) -> Callable[P, R]:
    """Run a generic write operation of the base class as one managed, retried write transaction."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        store = cast("Neo4jStore", args[0])
        return store.transact(lambda: method(*args, **kwargs))

    return wrapper


def _one_read(method: Callable[P, R]) -> Callable[P, R]:
    """Run a generic read of the base class (many primitive reads) as one managed read transaction."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        store = cast("Neo4jStore", args[0])
        return store.in_one_read(lambda: method(*args, **kwargs))

    return wrapper


# -- the store -----------------------------------------------------------------------------------


class Neo4jStore(GraphStore):
    """Graph store in a Neo4j 5 database (Community, Enterprise, cluster or Aura).

    ``url`` is ``neo4j://``, ``neo4j+s://``, ``bolt://`` or ``bolt+s://`` (``+ssc`` too); credentials
    come from ``user``/``password`` or from the URL (``neo4j://user:pw@host``); ``database`` picks a
    database other than the server's default. The schema (constraints, indexes) is created on first
    connect unless ``create`` is false.
    """

    def __init__(
        self,
        url: str,
        *,
        user: str | None = "neo4j",
        password: str | None = None,
        database: str | None = None,
        create: bool = True,
        connection_timeout: float = 10.0,
        max_retry_time: float = 30.0,
    ) -> None:
        self.url = redact(url)
        self._retry_time = max_retry_time
        try:
            driver_url, url_user, url_password = split_url(url)
        except ValueError as exc:
            raise ValidationError(f"malformed Neo4j URL {self.url}: {exc}") from None
        user = url_user or user or "neo4j"
        password = url_password if url_password is not None else password
        self._secrets = [password] if password else []
        auth = (user, password) if password else None
        self._local = threading.local()
        quiet_driver_logs()
        self._index: TraversalIndex | None = None
        self._index_lock = threading.Lock()
        try:
            self._driver = neo4j.GraphDatabase.driver(
                driver_url,
                auth=auth,
                connection_timeout=connection_timeout,
                max_transaction_retry_time=max_retry_time,
                notifications_min_severity="OFF",
                user_agent="lineage-engine",
            )
        except (ValueError, nex.ConfigurationError) as exc:
            raise ValidationError(f"cannot use Neo4j URL {self.url}: {exc}") from None
        self._bookmarks = neo4j.GraphDatabase.bookmark_manager()
        self.database = database
        try:
            with self._errors():
                self._driver.verify_connectivity()
                if self.database is None:
                    with self._driver.session(bookmark_manager=self._bookmarks) as session:
                        self.database = str(session.run(q.HOME_DATABASE).single(strict=True)["name"])
            if create:
                self.ensure_schema()
        except BaseException:
            self._driver.close()
            raise

    # -- plumbing ----------------------------------------------------------------------------

    def _errors(self) -> AbstractContextManager[None]:
        return map_exceptions(self.url, self._secrets)

    def _session(self, read: bool = False) -> neo4j.Session:
        return self._driver.session(
            database=self.database,
            bookmark_manager=self._bookmarks,
            fetch_size=10_000,
            default_access_mode=neo4j.READ_ACCESS if read else neo4j.WRITE_ACCESS,
        )

    def _active(self) -> neo4j.ManagedTransaction | None:
        """The transaction this thread is inside (a write unit or a multi-read unit), if any."""
        wtx: Neo4jWriteTx | None = getattr(self._local, "tx", None)
        if wtx is not None:
            return cast(neo4j.ManagedTransaction, wtx.tx)
        rtx: neo4j.ManagedTransaction | None = getattr(self._local, "rtx", None)
        return rtx

    def _read_tx(self, work: Callable[[neo4j.ManagedTransaction], R]) -> R:
        """Run ``work`` as one managed read transaction (retried on transient errors).

        Inside a transaction already (a write, or :meth:`in_one_read`), ``work`` joins it, and driver
        errors are left for that transaction's retry to see.
        """
        active = self._active()
        if active is not None:
            return work(active)
        with self._errors(), self._session() as session:
            return session.execute_read(work)

    def _read(self, query: LiteralString, **params: Any) -> list[neo4j.Record]:
        """The records of one read statement: one round trip (an auto-commit query in a read session).

        Inside a transaction already, the statement joins it. Transient failures (a busy server, a
        lost connection, a cluster member that stopped serving) are retried with backoff for up to
        ``max_retry_time`` seconds, as the driver retries managed transactions; a read is safe to repeat.
        """
        active = self._active()
        if active is not None:
            return list(active.run(query, params))
        deadline = time.monotonic() + self._retry_time
        delay = 0.05
        with self._errors():
            while True:
                try:
                    with self._session(read=True) as session:
                        return list(session.run(query, params))
                except (nex.Neo4jError, nex.DriverError) as exc:
                    if not exc.is_retryable() or time.monotonic() + delay > deadline:
                        raise
                time.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, 5.0)

    def in_one_read(self, work: Callable[[], R]) -> R:
        """Run ``work``, which may read many times, as one managed read transaction.

        A breadth-first reach then costs one transaction, not one per level.
        """
        if self._active() is not None:
            return work()

        def unit(tx: neo4j.ManagedTransaction) -> R:
            self._local.rtx = tx
            try:
                return work()
            finally:
                self._local.rtx = None

        with self._errors(), self._session() as session:
            return session.execute_read(unit)

    def _write_tx(self, work: Callable[[neo4j.ManagedTransaction], R]) -> R:
        """Run ``work`` as one managed write transaction, without the head lock (bulk import)."""
        with self._errors(), self._session() as session:
            return session.execute_write(work)

    def transact(self, work: Callable[[], R]) -> R:
        """Run ``work`` in one managed write transaction holding the head lock.

        Every ``write()`` opened by ``work`` joins that transaction. On a transient failure the
        driver rolls back and calls ``work`` again, so it must have no effect outside the store.
        """
        if getattr(self._local, "tx", None) is not None:
            return work()
        self._local.seen = None  # a record read before this write no longer pins a walk's head

        def unit(tx: neo4j.ManagedTransaction) -> R:
            wtx = Neo4jWriteTx(tx)
            wtx.lock()
            self._local.tx = wtx
            try:
                return work()
            finally:
                self._local.tx = None

        with self._errors(), self._session() as session:
            return session.execute_write(unit)

    history = _one_read(GraphStore.history)
    verify_audit = _one_read(GraphStore.verify_audit)

    register = _managed(GraphStore.register)
    retract = _managed(GraphStore.retract)
    annotate = _managed(GraphStore.annotate)
    record_token = _managed(GraphStore.record_token)
    revoke_token = _managed(GraphStore.revoke_token)

    @contextmanager
    def write(self) -> Iterator[Neo4jWriteTx]:
        active: Neo4jWriteTx | None = getattr(self._local, "tx", None)
        if active is not None:
            yield active
            return
        # Called directly, outside transact(): one explicit transaction, not retried.
        self._local.seen = None
        with self._errors(), self._session() as session, session.begin_transaction() as tx:
            wtx = Neo4jWriteTx(tx)
            wtx.lock()
            self._local.tx = wtx
            try:
                yield wtx
            except BaseException:
                tx.rollback()
                raise
            finally:
                self._local.tx = None
            tx.commit()

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._driver.close()

    def ping(self) -> None:
        with self._errors(), self._session() as session:
            session.run("RETURN 1").consume()

    def ensure_schema(self, wait_seconds: int = 300) -> SchemaChange:
        """Create the constraints and indexes that are missing and drop obsolete ``lineage_*`` ones.

        Idempotent and safe to run from several processes at once; returns what it changed.
        """
        change = SchemaChange()
        with self._errors():
            with self._session() as session:
                constraints = {r["name"] for r in session.run(q.SHOW_CONSTRAINTS)}
                indexes = {r["name"] for r in session.run(q.SHOW_INDEXES)}
            for name, statement in [*q.CONSTRAINTS.items(), *q.INDEXES.items()]:
                if name in constraints or name in indexes:
                    change.existing.append(name)
                    continue
                try:
                    with self._session() as session:
                        session.execute_write(_consume, statement, {})
                except nex.ClientError as exc:
                    # Another process created it between SHOW and CREATE.
                    if "AlreadyExists" not in (exc.code or ""):
                        raise
                    change.existing.append(name)
                    continue
                change.created.append(name)
            for name in sorted(indexes - constraints - set(q.INDEXES) - set(q.CONSTRAINTS)):
                if name.startswith("lineage_"):
                    with self._session() as session:
                        session.execute_write(_consume, _drop_index(name), {})
                    change.dropped.append(name)
            with self._session() as session:
                if change.created:
                    session.run(q.AWAIT_INDEXES, seconds=wait_seconds).consume()
                # Write only when something is missing: a store with its schema opens read-only.
                if not session.execute_read(lambda tx: tx.run(q.COUNT_SINGLETONS).single(strict=True)["ok"]):
                    session.execute_write(
                        _consume, q.INIT_SINGLETONS, {"genesis": GENESIS, "version": q.SCHEMA_VERSION}
                    )
        return change

    def schema_names(self) -> list[str]:
        return [*q.CONSTRAINTS, *q.INDEXES]

    def server_info(self) -> dict[str, Any]:
        rows = self._read(q.SERVER_COMPONENTS)
        return {
            "backend": "neo4j",
            "url": self.url,
            "database": self.database,
            "server": [f"{r['name']} {', '.join(r['versions'])} ({r['edition']})" for r in rows],
            "schema_version": q.SCHEMA_VERSION,
        }

    def wipe(self) -> None:
        """Delete EVERY node and relationship in the database, in batches. Destructive: tests only.

        Constraints and indexes stay. Not only this engine's data is deleted: never point it at a
        database that holds anything else.
        """
        with self._errors(), self._session() as session:
            session.run(q.WIPE, batch=10_000).consume()
            session.execute_write(_consume, q.INIT_SINGLETONS, {"genesis": GENESIS, "version": q.SCHEMA_VERSION})
        self._index = None  # its audit sequence starts again

    # -- reads -------------------------------------------------------------------------------

    def _node_records(self, query: LiteralString, as_of: datetime | None, **params: Any) -> list[NodeRecord]:
        """Nodes a query returns as ``n``, with owners, tags and as-of properties, in one transaction.

        The present costs one statement (owners and tags are kept on the node); a past time reads
        annotations and revisions too, in the same read transaction.
        """
        if as_of is None:
            return hydrate(None, self._read(query, **params)[0]["nodes"], None)

        def work(tx: neo4j.ManagedTransaction) -> list[NodeRecord]:
            return hydrate(tx, tx.run(query, params).single(strict=True)["nodes"], as_of)

        return self._read_tx(work)

    def get_node(self, node_id: str, as_of: datetime | None = None) -> NodeRecord:
        """The node visible as of the time, read together with the audit head in one statement.

        A walk from the returned record (:meth:`reach_from` in this thread, before any write by it)
        catches the traversal index up to that head instead of asking for it again: the record and
        the walk then answer from the same moment, which a write that returned before this read
        precedes. Raises ValidationError (malformed id), NotFoundError, BackendUnavailableError.
        """
        from lineage.storage.writes import check_node_id

        check_node_id(node_id)
        t = as_of_us(as_of)
        if as_of is None:
            row = self._read(q.NODE_WITH_HEAD, id=node_id, t=t)[0]
            head, recs = int(row["seq"]), hydrate(None, row["nodes"], None)
        else:

            def work(tx: neo4j.ManagedTransaction) -> tuple[int, list[NodeRecord]]:
                row = tx.run(q.NODE_WITH_HEAD, id=node_id, t=t).single(strict=True)
                return int(row["seq"]), hydrate(tx, row["nodes"], as_of)

            head, recs = self._read_tx(work)
        if not recs:
            when = f" as of {as_of.isoformat()}" if as_of else ""
            raise NotFoundError(f"no node {node_id!r}{when}; try `lineage search` to find its id")
        self._local.seen = (recs[0], head)
        return recs[0]

    def reach_from(
        self,
        root: NodeRecord,
        direction: Direction,
        *,
        max_depth: int | None = None,
        kinds: Sequence[NodeKind] = (),
        as_of: datetime | None = None,
        max_nodes: int | None = None,
        edge_types: Sequence[EdgeType] = (),
        charge: Callable[[int], None] | None = None,
    ) -> Reach:
        """:meth:`GraphStore.reach_from`; from a record :meth:`get_node` just read, the traversal
        index catches up to the audit head read with it (no round trip when nothing changed)."""
        seen: tuple[NodeRecord, int] | None = getattr(self._local, "seen", None)
        self._local.head_hint = seen[1] if seen is not None and seen[0] is root else None
        try:
            return super().reach_from(
                root, direction, max_depth=max_depth, kinds=kinds, as_of=as_of, max_nodes=max_nodes,
                edge_types=edge_types, charge=charge,
            )  # fmt: skip
        finally:
            self._local.head_hint = None

    def take_head_hint(self) -> int | None:
        """The audit head a walk in progress in this thread may catch up to (read with its start
        node), or None when the head has to be read; used once."""
        hint: int | None = getattr(self._local, "head_hint", None)
        self._local.head_hint = None
        return hint

    def get_nodes(self, ids: Sequence[str], as_of: datetime | None = None) -> dict[str, NodeRecord]:
        out: dict[str, NodeRecord] = {}
        for chunk in chunks(list(dict.fromkeys(ids))):
            for rec in self._node_records(q.NODES_VISIBLE, as_of, ids=list(chunk), t=as_of_us(as_of)):
                out[rec.id] = rec
        return out

    def get_node_any(self, node_id: str) -> NodeRecord | None:
        recs = self._node_records(q.NODE_ANY, None, id=node_id)
        return recs[0] if recs else None

    def owners_of(self, ids: Sequence[str], as_of: datetime | None = None) -> dict[str, tuple[str, ...]]:
        query = q.OWNERS_NOW if as_of is None else q.OWNERS_AS_OF

        def work(tx: neo4j.ManagedTransaction) -> dict[str, tuple[str, ...]]:
            found: dict[str, list[str]] = {}
            for chunk in chunks(ids, 50_000):
                for node_id, values in tx.run(query, ids=list(chunk), t=as_of_us(as_of)).single(strict=True)[0]:
                    found.setdefault(node_id, []).extend(values)
            return {k: tuple(sorted(v)) for k, v in found.items()}

        return self._read_tx(work)

    def traversal_index(self) -> TraversalIndex:
        """The traversal index fed from this database, built on first use and caught up on every call."""
        index = self._index
        if index is None:
            with self._index_lock:
                if self._index is None:
                    from lineage.storage.index import TraversalIndex
                    from lineage.storage.neo4j_index import Neo4jIndexFeed

                    self._index = TraversalIndex(Neo4jIndexFeed(self))
                index = self._index
        index.sync()
        return index

    def expand(self, frontier: Sequence[str], direction: Direction, as_of: datetime | None = None) -> list[Hop]:
        query = q.EXPAND[(Direction(direction).value, as_of is None)]
        t = as_of_us(as_of)

        def work(tx: neo4j.ManagedTransaction) -> list[Hop]:
            hops: list[Hop] = []
            for chunk in chunks(frontier, 50_000):
                row = tx.run(query, ids=list(chunk), t=t).single(strict=True)
                edge_type, kind = EDGE_BY_NAME, KIND_BY_PREFIX
                hops.extend(
                    Hop(o, edge_type[e], m, kind[m[: m.index(":")]])
                    for o, e, m in zip(row[0], row[1], row[2], strict=True)
                )
            return hops

        return self._read_tx(work)

    def node_edges(
        self, node_id: str, as_of: datetime | None = None, include_retracted: bool = False
    ) -> list[EdgeRecord]:
        rows = self._read(q.NODE_EDGES, id=node_id, t=as_of_us(as_of), all=include_retracted)
        edges = [edge_of(r["src"], r["type"], r["dst"], r["e"], as_of) for r in rows]
        edges.sort(key=lambda e: (e.type.value, e.source, e.target))
        return edges

    def get_edge_any(self, key: tuple[str, EdgeType, str]) -> EdgeRecord | None:
        rows = self._read(q.EDGE_ANY, src=key[0], type=key[1].value, dst=key[2])
        return edge_of(rows[0]["src"], rows[0]["type"], rows[0]["dst"], rows[0]["e"]) if rows else None

    def revisions(self, node_id: str) -> list[Revision]:
        def work(tx: neo4j.ManagedTransaction) -> list[Revision]:
            found = tx.run(q.NODE_ANY, id=node_id).single(strict=True)["nodes"]
            if not found:
                return []
            n = found[0]
            if not n.get("revised"):
                # Never changed: the node holds its one and only state.
                first = (at_us(n["recorded_at"]), n["recorded_by"], json.loads(n["properties"]))
                return [Revision(*first, from_us(n.get("event_time")))]
            return [
                Revision(
                    at_us(r["recorded_at"]), r["recorded_by"], json.loads(r["properties"]), from_us(r["event_time"])
                )
                for r in tx.run(q.REVISIONS, id=node_id)
            ]

        return self._read_tx(work)

    def annotations(self, node_id: str, include_retracted: bool = True) -> list[Annotation]:
        return [annotation_of(r["a"]) for r in self._read(q.ANNOTATIONS, id=node_id, all=include_retracted)]

    def search(
        self, text: str, kinds: Sequence[NodeKind] = (), limit: int = 50, as_of: datetime | None = None
    ) -> list[NodeRecord]:
        needle = text.strip().lower()
        return self._node_records(
            q.SEARCH[needle.isascii()],
            as_of,
            needle=needle,
            t=as_of_us(as_of),
            kinds=[k.value for k in kinds],
            limit=limit,
        )

    def list_nodes(
        self, filt: NodeFilter, after: str | None = None, limit: int = 100, as_of: datetime | None = None
    ) -> list[NodeRecord]:
        return self._node_records(
            q.LIST_NODES,
            as_of,
            t=as_of_us(as_of),
            after=after or "",
            kinds=[k.value for k in filt.kinds],
            ns=filt.namespace,
            prefix=ascii_lower(filt.name_prefix or ""),
            since=us(filt.recorded_since),
            until=us(filt.recorded_until),
            tag=filt.tag,
            owner=filt.owner,
            limit=limit,
        )

    def nodes_with_annotation(self, key: str, value: str, as_of: datetime | None = None) -> list[str]:
        return [r["id"] for r in self._read(q.NODES_WITH_ANNOTATION, key=key, value=value, t=as_of_us(as_of))]

    def audit_entries(self, filt: AuditFilter | None = None) -> list[AuditEntry]:
        filt = filt or AuditFilter()
        params = {
            "after": filt.after_seq,
            "p": filt.principal,
            "action": filt.action,
            "since": us(filt.since),
            "until": us(filt.until),
            "limit": filt.limit,
        }
        if filt.subject is not None:
            rows = self._read(q.AUDIT_ENTRIES_BY_SUBJECT, subject=filt.subject, **params)
        else:
            rows = self._read(q.AUDIT_ENTRIES, **params)
        return [entry_of(r["a"]) for r in rows]

    def iter_audit(self, page_bytes: int = AUDIT_PAGE_BYTES) -> Iterator[AuditEntry]:
        """Every audit entry in order, read in pages of at most ``_PAGE`` entries and about
        ``page_bytes`` of payload and subjects (one entry of a large batch can be megabytes; an
        entry larger than the bound is a page alone)."""
        after = 0
        while True:
            sizes: list[list[int]] = self._read(q.AUDIT_SIZES, after=after, limit=_PAGE)[0]["sizes"]
            if not sizes:
                return
            last, total = sizes[0][0], 0
            for seq, size in sizes:
                total += size
                if total > page_bytes and seq != sizes[0][0]:
                    break
                last = seq
            for r in self._read(q.AUDIT_RANGE, after=after, last=last):
                entry = entry_of(r["a"])
                after = entry.seq
                yield entry
            if len(sizes) < _PAGE and last == sizes[-1][0]:
                return

    def counts(self) -> dict[str, int]:
        r = self._read(q.COUNTS)[0]
        return {
            "nodes": r["nodes"],
            "edges": r["edges"],
            "audit_entries": r["audit_entries"],
            "raw_events": r["raw_events"],
            "current_nodes": r["nodes"] - r["retracted_nodes"],
            "current_edges": r["edges"] - r["retracted_edges"],
        }

    def tokens(self) -> list[TokenRecord]:
        return [token_of(r["t"]) for r in self._read(q.TOKENS)]

    def find_token(self, secret_hash: str) -> TokenRecord | None:
        rows = self._read(q.FIND_TOKEN, hash=secret_hash)
        return token_of(rows[0]["t"]) if rows else None

    def audit_rows(self) -> AbstractContextManager[Neo4jRows]:
        from lineage.storage.neo4j_verify import snapshot

        return snapshot(self)

    def export_section(self, section: Section, batch_size: int = 5_000) -> Iterator[list[Any]]:
        from lineage.storage import neo4j_bulk

        return neo4j_bulk.export_section(self, section, batch_size)

    def import_section(self, section: Section, records: Sequence[Any]) -> None:
        from lineage.storage import neo4j_bulk

        neo4j_bulk.import_section(self, section, records)

    def iter_raw_events(self, after_seq: int = 0) -> Iterator[RawEvent]:
        after = after_seq
        while True:
            rows = self._read(q.RAW_EVENTS_PAGE, after=after, limit=_PAGE)
            for r in rows:
                e = r["e"]
                after = e["seq"]
                yield RawEvent(e["seq"], at_us(e["received_at"]), e["source"], json.loads(e["payload"]))
            if len(rows) < _PAGE:
                return
