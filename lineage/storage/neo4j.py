"""The Neo4j store: the production backend, for one server, a cluster or Aura.

It implements the primitives of :class:`~lineage.storage.base.GraphStore` in parameterised Cypher
(the statement text lives in :mod:`lineage.storage.neo4j_cypher`); every rule (validation,
idempotence, cycles, audit chaining, breadth-first reach) stays generic in ``base.py`` and
``writes.py``, so both backends answer alike.

- **Writes** run as managed transactions (``session.execute_write``): the driver retries the whole
  unit of work on transient failures (deadlocks, leader changes). Each begins by locking the audit
  head node, which serialises writers across processes and API replicas, so the audit chain never
  forks or skips.
- **Reads** run as managed read transactions. All sessions of one store share a bookmark manager,
  so a read sees every write this store made before it, also on a cluster.
- **Driver errors** are translated in one place, :func:`map_exceptions`.
- **Times** are integer microseconds since the epoch, exactly as in the embedded store.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, LiteralString, ParamSpec, TypeVar, cast
from urllib.parse import unquote, urlsplit, urlunsplit

import neo4j
import neo4j.exceptions as nex

from lineage.audit import GENESIS, AuditEntry
from lineage.errors import BackendUnavailableError, ConflictError, LineageError, ValidationError
from lineage.model import EdgeRecord, EdgeType, NodeKind, NodeRecord
from lineage.storage import neo4j_cypher as q
from lineage.storage.base import (
    Annotation,
    AuditFilter,
    Direction,
    GraphStore,
    Hop,
    NewEdge,
    NewNode,
    NodeFilter,
    RawEvent,
    Revision,
    Section,
    StoredEdge,
    StoredNode,
    TokenRecord,
)
from lineage.storage.sqlite import from_us, to_us

P = ParamSpec("P")
R = TypeVar("R")

_FAR_FUTURE = 2**62
#: Rows per UNWIND statement; a batch is several statements in one transaction, so still atomic.
_CHUNK = 10_000
_PAGE = 5_000
_KIND_BY_PREFIX = {k.prefix: k for k in NodeKind}
_EDGE_BY_NAME = {e.value: e for e in EdgeType}
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Lowercase ASCII letters only, as SQLite's ``lower()`` and ``LIKE`` do, so search agrees."""
    return text.translate(_ASCII_LOWER)


def search_keys(node_id: str, name: str) -> dict[str, str]:
    """Lowercased copies of id and name that search compares: ASCII-only always, full Unicode
    lowercase too where it differs (names such as Émissions)."""
    keys = {"id_lc": ascii_lower(node_id), "name_lc": ascii_lower(name)}
    if not node_id.isascii() and node_id.lower() != keys["id_lc"]:
        keys["id_fold"] = node_id.lower()
    if not name.isascii() and name.lower() != keys["name_lc"]:
        keys["name_fold"] = name.lower()
    return keys


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _us(value: datetime | None) -> int | None:
    return to_us(value) if value is not None else None


def _at(value: int) -> datetime:
    out = from_us(value)
    assert out is not None
    return out


def _t(as_of: datetime | None) -> int:
    return _FAR_FUTURE if as_of is None else to_us(as_of)


def _chunks(rows: Sequence[R], size: int = _CHUNK) -> Iterator[Sequence[R]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


# -- URLs and errors -----------------------------------------------------------------------------


def split_url(url: str) -> tuple[str, str | None, str | None]:
    """(URL for the driver, user, password): credentials may ride in the URL as ``user:pw@host``."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return clean, user, password


def redact(url: str) -> str:
    """The URL as it may be shown: any password in it replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}" if "@" in rest else url
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{netloc}", parts.path, parts.query, parts.fragment))


@contextmanager
def map_exceptions(url: str, secrets: Sequence[str] = ()) -> Iterator[None]:
    """Translate Neo4j driver errors into the engine's errors; the one place that knows them.

    Messages name the URL (already redacted) and never a password: any secret that a driver
    message might echo is masked too.
    """

    def clean(text: str) -> str:
        for secret in secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    try:
        yield
    except LineageError:
        raise
    except nex.AuthError as exc:
        raise BackendUnavailableError(
            f"Neo4j at {url} refused the credentials: {clean(exc.message or str(exc))}. "
            "Check LINEAGE_NEO4J_USER and LINEAGE_NEO4J_PASSWORD.",
            details={"url": url},
        ) from None
    except nex.ConstraintError as exc:
        raise ConflictError(f"Neo4j at {url} refused a write: {clean(exc.message or str(exc))}") from None
    except (nex.ServiceUnavailable, nex.SessionExpired, nex.ConnectionPoolError) as exc:
        raise BackendUnavailableError(
            f"Neo4j at {url} is unavailable: {clean(str(exc))}", details={"url": url}
        ) from None
    except nex.TransientError as exc:
        raise BackendUnavailableError(
            f"Neo4j at {url} is busy or unavailable, retries exhausted: {clean(exc.message or str(exc))}",
            details={"url": url},
        ) from None
    except nex.ClientError as exc:
        if exc.code and exc.code.startswith(("Neo.ClientError.Database.", "Neo.ClientError.Security.")):
            raise BackendUnavailableError(
                f"Neo4j at {url}: {clean(exc.message or str(exc))}", details={"url": url}
            ) from None
        raise
    except nex.DatabaseError as exc:
        raise BackendUnavailableError(
            f"Neo4j at {url} failed: {clean(exc.message or str(exc))}", details={"url": url}
        ) from None
    except nex.ConfigurationError as exc:
        raise ValidationError(f"cannot use Neo4j URL {url}: {clean(str(exc))}") from None


# -- write transaction ---------------------------------------------------------------------------


class _Tx:
    """:class:`~lineage.storage.base.WriteTx` over one Neo4j transaction holding the head lock."""

    def __init__(self, tx: neo4j.ManagedTransaction | neo4j.Transaction) -> None:
        self.tx = tx
        self.head = (0, GENESIS)
        self.last_at: int | None = None

    def run(self, query: LiteralString, **params: Any) -> list[neo4j.Record]:
        return list(self.tx.run(query, params))

    def lock(self) -> None:
        """Take the writers' lock, then read the head it protects."""
        self.tx.run(q.LOCK_HEAD, genesis=GENESIS, nonce=uuid.uuid4().hex).consume()
        row = self.run(q.READ_HEAD)[0]
        self.head = (int(row["seq"]), str(row["hash"]))
        self.last_at = row["at"]

    def now(self) -> datetime:
        now = to_us(datetime.now(UTC))
        return _at(max(now, self.last_at + 1) if self.last_at is not None else now)

    def audit_head(self) -> tuple[int, str]:
        return self.head

    def nodes(self, ids: Sequence[str]) -> dict[str, StoredNode]:
        out: dict[str, StoredNode] = {}
        for chunk in _chunks(ids):
            for r in self.run(q.TX_NODES, ids=list(chunk)):
                out[r["id"]] = StoredNode(
                    r["id"],
                    NodeKind(r["kind"]),
                    json.loads(r["properties"]),
                    from_us(r["event_time"]),
                    from_us(r["retracted_at"]),
                )
        return out

    def edges(self, keys: Sequence[tuple[str, EdgeType, str]]) -> dict[tuple[str, EdgeType, str], StoredEdge]:
        out: dict[tuple[str, EdgeType, str], StoredEdge] = {}
        for chunk in _chunks(keys):
            for r in self.run(q.TX_EDGES, keys=[[s, t.value, d] for s, t, d in chunk]):
                key = (r["src"], EdgeType(r["type"]), r["dst"])
                out[key] = StoredEdge(key[0], key[1], key[2], from_us(r["retracted_at"]))
        return out

    def successors(self, ids: Sequence[str]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for chunk in _chunks(ids):
            out.extend((r["src"], r["dst"]) for r in self.run(q.TX_SUCCESSORS, ids=list(chunk)))
        return out

    def annotations(self, ids: Sequence[str], key: str) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for chunk in _chunks(ids):
            for r in self.run(q.TX_ANNOTATIONS, ids=list(chunk), key=key):
                out.setdefault(r["node_id"], set()).add(r["value"])
        return out

    def insert_nodes(self, nodes: Sequence[NewNode], at: datetime, by: str) -> None:
        t = to_us(at)
        by_kind: dict[NodeKind, list[dict[str, Any]]] = {}
        for n in nodes:
            by_kind.setdefault(n.kind, []).append(
                {
                    "id": n.id,
                    "kind": n.kind.value,
                    "namespace": n.namespace,
                    "name": n.name,
                    "version": n.version,
                    "properties": _json(n.properties),
                    "event_time": _us(n.event_time),
                    "recorded_at": t,
                    "recorded_by": by,
                }
                | search_keys(n.id, n.name)
            )
        for kind, rows in by_kind.items():
            for chunk in _chunks(rows):
                self.tx.run(q.INSERT_NODES[kind], rows=chunk).consume()

    def update_nodes(
        self, updates: Sequence[tuple[str, dict[str, Any], datetime | None]], at: datetime, by: str
    ) -> None:
        t = to_us(at)
        rows = [{"id": i, "properties": _json(p), "event_time": _us(e)} for i, p, e in updates]
        for chunk in _chunks(rows):
            self.tx.run(q.KEEP_FIRST_REVISION, ids=[r["id"] for r in chunk]).consume()
            self.tx.run(q.UPDATE_NODES, rows=chunk).consume()
            revisions = [
                {
                    "node_id": r["id"],
                    "recorded_at": t,
                    "recorded_by": by,
                    "properties": r["properties"],
                    "event_time": r["event_time"],
                }
                for r in chunk
            ]
            self.tx.run(q.INSERT_REVISIONS, rows=revisions).consume()

    def insert_edges(self, edges: Sequence[NewEdge], at: datetime, by: str) -> None:
        t = to_us(at)
        by_type: dict[EdgeType, list[dict[str, Any]]] = {}
        for e in edges:
            by_type.setdefault(e.type, []).append(
                {
                    "src": e.source,
                    "dst": e.target,
                    "props": {
                        "properties": _json(e.properties) if e.properties else None,
                        "event_time": _us(e.event_time),
                        "recorded_at": t,
                        "recorded_by": by,
                    },
                }
            )
        for edge_type, rows in by_type.items():
            rows.sort(key=lambda r: r["src"])  # neighbouring rows touch the same nodes
            for chunk in _chunks(rows):
                self.tx.run(q.INSERT_EDGES[edge_type], rows=chunk).consume()

    def add_annotations(self, rows: Sequence[tuple[str, str, str]], at: datetime, by: str) -> None:
        t = to_us(at)
        data = [{"node_id": n, "key": k, "value": v, "recorded_at": t, "recorded_by": by} for n, k, v in rows]
        for chunk in _chunks(data):
            self.tx.run(q.INSERT_ANNOTATIONS, rows=chunk).consume()

    def retract_annotations(self, rows: Sequence[tuple[str, str, str]], at: datetime, by: str) -> None:
        data = [{"node_id": n, "key": k, "value": v} for n, k, v in rows]
        for chunk in _chunks(data):
            self.tx.run(q.RETRACT_ANNOTATIONS, rows=chunk, at=to_us(at), by=by).consume()

    def retract_node(self, node_id: str, at: datetime, by: str, reason: str) -> int:
        rows = self.run(
            q.RETRACT_NODE,
            id=node_id,
            at=to_us(at),
            by=by,
            reason=reason,
            edge_reason=f"node {node_id} retracted: {reason}",
        )
        return int(rows[0]["edges"]) if rows else 0

    def retract_edge(self, key: tuple[str, EdgeType, str], at: datetime, by: str, reason: str) -> None:
        self.tx.run(
            q.RETRACT_EDGE, src=key[0], type=key[1].value, dst=key[2], at=to_us(at), by=by, reason=reason
        ).consume()

    def append_audit(self, entry: AuditEntry) -> None:
        self.tx.run(q.APPEND_AUDIT, entry=_audit_props(entry)).consume()
        for chunk in _chunks(list(dict.fromkeys(entry.subjects))):
            self.tx.run(q.INSERT_AUDIT_SUBJECTS, subjects=chunk, seq=entry.seq).consume()
        self.head = (entry.seq, entry.hash)
        self.last_at = to_us(entry.at)

    def put_token(self, token: TokenRecord) -> None:
        self.tx.run(q.PUT_TOKEN, token=_token_props(token)).consume()

    def revoke_token(self, name: str, at: datetime) -> bool:
        rows = self.run(q.REVOKE_TOKEN, name=name, at=to_us(at))
        return bool(rows and rows[0]["n"])


def _audit_props(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": to_us(entry.at),
        "principal": entry.principal,
        "source": entry.source,
        "action": entry.action,
        "subjects": _json(list(entry.subjects)),
        "payload": _json(entry.payload),
        "payload_digest": entry.payload_digest,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def _token_props(token: TokenRecord) -> dict[str, Any]:
    return {
        "name": token.name,
        "role": token.role,
        "namespaces": _json(list(token.namespaces)),
        "secret_hash": token.secret_hash,
        "created_at": to_us(token.created_at),
        "created_by": token.created_by,
        "revoked_at": _us(token.revoked_at),
    }


def _entry(a: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        a["seq"],
        _at(a["at"]),
        a["principal"],
        a["source"],
        a["action"],
        tuple(json.loads(a["subjects"])),
        json.loads(a["payload"]),
        a["payload_digest"],
        a["prev_hash"],
        a["hash"],
    )


def _token(t: dict[str, Any]) -> TokenRecord:
    return TokenRecord(
        t["name"],
        t["role"],
        tuple(json.loads(t["namespaces"])),
        t["secret_hash"],
        _at(t["created_at"]),
        t["created_by"],
        from_us(t.get("revoked_at")),
    )


def _edge(src: str, edge_type: str, dst: str, e: dict[str, Any], as_of: datetime | None = None) -> EdgeRecord:
    # As of a time before the retraction, the edge reads as it did then (see _hydrate).
    retracted = e["retracted_at"] is not None and (as_of is None or e["retracted_at"] <= _t(as_of))
    return EdgeRecord(
        src,
        EdgeType(edge_type),
        dst,
        json.loads(e["properties"]),
        from_us(e["event_time"]),
        _at(e["recorded_at"]),
        e["recorded_by"],
        from_us(e["retracted_at"]) if retracted else None,
        e["retracted_by"] if retracted else None,
        e["retract_reason"] if retracted else None,
    )


def _annotation(a: dict[str, Any]) -> Annotation:
    return Annotation(
        a["node_id"],
        a["key"],
        a["value"],
        _at(a["recorded_at"]),
        a["recorded_by"],
        from_us(a.get("retracted_at")),
        a.get("retracted_by"),
    )


def _hydrate(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]], as_of: datetime | None) -> list[NodeRecord]:
    """Node records from stored node maps: owners and tags as of the time, and the properties
    of the revision current then (only nodes that ever changed have revisions to look up)."""
    if not rows:
        return []
    t = _t(as_of)
    ann: dict[str, dict[str, list[str]]] = {}
    ids = [n["id"] for n in rows]
    for chunk in _chunks(ids):
        for r in tx.run(q.NODE_ANNOTATIONS, ids=list(chunk), t=t):
            ann.setdefault(r["node_id"], {}).setdefault(r["key"], []).append(r["value"])
    for by_key in ann.values():
        for values in by_key.values():
            values.sort()
    revs: dict[str, tuple[str, int | None]] = {}
    revised = [n["id"] for n in rows if n.get("revised")]
    if as_of is not None and revised:
        for chunk in _chunks(revised):
            for r in tx.run(q.REVISIONS_AS_OF, ids=list(chunk), t=t):
                if r["properties"] is not None:
                    revs[r["id"]] = (r["properties"], r["event_time"])
    out = []
    for n in rows:
        props, event_time = revs.get(n["id"], (n["properties"], n.get("event_time")))
        a = ann.get(n["id"], {})
        retracted_at = n.get("retracted_at")
        # As of a time before the retraction, the record reads as it did then: no trace of it.
        retracted = retracted_at is not None and (as_of is None or retracted_at <= t)
        out.append(
            NodeRecord(
                id=n["id"],
                kind=NodeKind(n["kind"]),
                namespace=n["namespace"],
                name=n["name"],
                version=n.get("version"),
                properties=json.loads(props),
                owners=tuple(a.get("owner", ())),
                tags=tuple(a.get("tag", ())),
                event_time=from_us(event_time),
                recorded_at=_at(n["recorded_at"]),
                recorded_by=n["recorded_by"],
                retracted_at=from_us(retracted_at) if retracted else None,
                retracted_by=n.get("retracted_by") if retracted else None,
                retract_reason=n.get("retract_reason") if retracted else None,
            )
        )
    return out


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
        try:
            driver_url, url_user, url_password = split_url(url)
        except ValueError as exc:
            raise ValidationError(f"malformed Neo4j URL {self.url}: {exc}") from None
        user = url_user or user or "neo4j"
        password = url_password if url_password is not None else password
        self._secrets = [password] if password else []
        auth = (user, password) if password else None
        self._local = threading.local()
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

    def _session(self) -> neo4j.Session:
        return self._driver.session(database=self.database, bookmark_manager=self._bookmarks, fetch_size=10_000)

    def _active(self) -> neo4j.ManagedTransaction | None:
        """The transaction this thread is inside (a write unit or a multi-read unit), if any."""
        wtx: _Tx | None = getattr(self._local, "tx", None)
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
        return self._read_tx(lambda tx: list(tx.run(query, params)))

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

        def unit(tx: neo4j.ManagedTransaction) -> R:
            wtx = _Tx(tx)
            wtx.lock()
            self._local.tx = wtx
            try:
                return work()
            finally:
                self._local.tx = None

        with self._errors(), self._session() as session:
            return session.execute_write(unit)

    reach = _one_read(GraphStore.reach)
    history = _one_read(GraphStore.history)
    verify_audit = _one_read(GraphStore.verify_audit)

    register = _managed(GraphStore.register)
    retract = _managed(GraphStore.retract)
    annotate = _managed(GraphStore.annotate)
    record_token = _managed(GraphStore.record_token)
    revoke_token = _managed(GraphStore.revoke_token)

    @contextmanager
    def write(self) -> Iterator[_Tx]:
        active: _Tx | None = getattr(self._local, "tx", None)
        if active is not None:
            yield active
            return
        # Called directly, outside transact(): one explicit transaction, not retried.
        with self._errors(), self._session() as session, session.begin_transaction() as tx:
            wtx = _Tx(tx)
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
                session.execute_write(_consume, q.INIT_SINGLETONS, {"genesis": GENESIS, "version": q.SCHEMA_VERSION})
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

    # -- reads -------------------------------------------------------------------------------

    def _node_records(self, query: LiteralString, as_of: datetime | None, **params: Any) -> list[NodeRecord]:
        """Nodes a query returns as ``n``, with owners, tags and as-of properties, in one transaction."""

        def work(tx: neo4j.ManagedTransaction) -> list[NodeRecord]:
            return _hydrate(tx, [r["n"] for r in tx.run(query, params)], as_of)

        return self._read_tx(work)

    def get_nodes(self, ids: Sequence[str], as_of: datetime | None = None) -> dict[str, NodeRecord]:
        out: dict[str, NodeRecord] = {}
        for chunk in _chunks(list(dict.fromkeys(ids))):
            for rec in self._node_records(q.NODES_VISIBLE, as_of, ids=list(chunk), t=_t(as_of)):
                out[rec.id] = rec
        return out

    def get_node_any(self, node_id: str) -> NodeRecord | None:
        recs = self._node_records(q.NODE_ANY, None, id=node_id)
        return recs[0] if recs else None

    def expand(self, frontier: Sequence[str], direction: Direction, as_of: datetime | None = None) -> list[Hop]:
        query = q.EXPAND[Direction(direction).value]
        t = _t(as_of)

        def work(tx: neo4j.ManagedTransaction) -> list[Hop]:
            hops: list[Hop] = []
            for chunk in _chunks(frontier, 50_000):
                row = tx.run(query, ids=list(chunk), t=t).single(strict=True)
                edge_type, kind = _EDGE_BY_NAME, _KIND_BY_PREFIX
                hops.extend(
                    Hop(o, edge_type[e], m, kind[m[: m.index(":")]])
                    for o, e, m in zip(row[0], row[1], row[2], strict=True)
                )
            return hops

        return self._read_tx(work)

    def node_edges(
        self, node_id: str, as_of: datetime | None = None, include_retracted: bool = False
    ) -> list[EdgeRecord]:
        rows = self._read(q.NODE_EDGES, id=node_id, t=_t(as_of), all=include_retracted)
        edges = [_edge(r["src"], r["type"], r["dst"], r["e"], as_of) for r in rows]
        edges.sort(key=lambda e: (e.type.value, e.source, e.target))
        return edges

    def get_edge_any(self, key: tuple[str, EdgeType, str]) -> EdgeRecord | None:
        rows = self._read(q.EDGE_ANY, src=key[0], type=key[1].value, dst=key[2])
        return _edge(rows[0]["src"], rows[0]["type"], rows[0]["dst"], rows[0]["e"]) if rows else None

    def revisions(self, node_id: str) -> list[Revision]:
        def work(tx: neo4j.ManagedTransaction) -> list[Revision]:
            found = tx.run(q.NODE_ANY, id=node_id).single()
            if found is None:
                return []
            n = found["n"]
            if not n.get("revised"):
                # Never changed: the node holds its one and only state.
                first = (_at(n["recorded_at"]), n["recorded_by"], json.loads(n["properties"]))
                return [Revision(*first, from_us(n.get("event_time")))]
            return [
                Revision(_at(r["recorded_at"]), r["recorded_by"], json.loads(r["properties"]), from_us(r["event_time"]))
                for r in tx.run(q.REVISIONS, id=node_id)
            ]

        return self._read_tx(work)

    def annotations(self, node_id: str, include_retracted: bool = True) -> list[Annotation]:
        return [_annotation(r["a"]) for r in self._read(q.ANNOTATIONS, id=node_id, all=include_retracted)]

    def search(
        self, text: str, kinds: Sequence[NodeKind] = (), limit: int = 50, as_of: datetime | None = None
    ) -> list[NodeRecord]:
        needle = text.strip().lower()
        return self._node_records(
            q.SEARCH[needle.isascii()],
            as_of,
            needle=needle,
            t=_t(as_of),
            kinds=[k.value for k in kinds],
            limit=limit,
        )

    def list_nodes(
        self, filt: NodeFilter, after: str | None = None, limit: int = 100, as_of: datetime | None = None
    ) -> list[NodeRecord]:
        return self._node_records(
            q.LIST_NODES,
            as_of,
            t=_t(as_of),
            after=after or "",
            kinds=[k.value for k in filt.kinds],
            ns=filt.namespace,
            prefix=ascii_lower(filt.name_prefix or ""),
            since=_us(filt.recorded_since),
            until=_us(filt.recorded_until),
            tag=filt.tag,
            owner=filt.owner,
            limit=limit,
        )

    def nodes_with_annotation(self, key: str, value: str, as_of: datetime | None = None) -> list[str]:
        return [r["id"] for r in self._read(q.NODES_WITH_ANNOTATION, key=key, value=value, t=_t(as_of))]

    def audit_entries(self, filt: AuditFilter | None = None) -> list[AuditEntry]:
        filt = filt or AuditFilter()
        params = {
            "after": filt.after_seq,
            "p": filt.principal,
            "action": filt.action,
            "since": _us(filt.since),
            "until": _us(filt.until),
            "limit": filt.limit,
        }
        if filt.subject is not None:
            rows = self._read(q.AUDIT_ENTRIES_BY_SUBJECT, subject=filt.subject, **params)
        else:
            rows = self._read(q.AUDIT_ENTRIES, **params)
        return [_entry(r["a"]) for r in rows]

    def iter_audit(self) -> Iterator[AuditEntry]:
        after = 0
        while True:
            rows = self._read(q.AUDIT_PAGE, after=after, limit=_PAGE)
            for r in rows:
                entry = _entry(r["a"])
                after = entry.seq
                yield entry
            if len(rows) < _PAGE:
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
        return [_token(r["t"]) for r in self._read(q.TOKENS)]

    def find_token(self, secret_hash: str) -> TokenRecord | None:
        rows = self._read(q.FIND_TOKEN, hash=secret_hash)
        return _token(rows[0]["t"]) if rows else None

    def append_raw_event(self, source: str, payload: dict[str, Any]) -> int:
        def work(tx: neo4j.ManagedTransaction) -> int:
            row = tx.run(
                q.APPEND_RAW_EVENT,
                at=to_us(datetime.now(UTC)),
                source=source,
                payload=json.dumps(payload, ensure_ascii=False),
            ).single(strict=True)
            return int(row["seq"])

        with self._errors(), self._session() as session:
            return session.execute_write(work)

    def append_raw_events(self, source: str, payloads: Sequence[dict[str, Any]]) -> list[int]:
        if not payloads:
            return []
        texts = [json.dumps(p, ensure_ascii=False) for p in payloads]

        def work(tx: neo4j.ManagedTransaction) -> list[int]:
            rows = tx.run(q.APPEND_RAW_EVENTS, at=to_us(datetime.now(UTC)), source=source, payloads=texts)
            return [int(r["seq"]) for r in rows]

        with self._errors(), self._session() as session:
            return session.execute_write(work)

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
                yield RawEvent(e["seq"], _at(e["received_at"]), e["source"], json.loads(e["payload"]))
            if len(rows) < _PAGE:
                return
