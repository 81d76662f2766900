"""How the embedded store feeds its traversal index (:mod:`lineage.storage.index`).

The head is the newest audit sequence number (the audit table's integer key: one lookup). Changes
are the edges touching the subjects of the audit entries after a sequence number: every write
names the ends of each edge it adds or retracts among its subjects. A full load reads every edge in
one read transaction together with the head, so both describe the same state.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from lineage.errors import BackendUnavailableError
from lineage.storage.index import Changes, EdgeRow, Fact, is_production_env

if TYPE_CHECKING:
    from lineage.storage.sqlite import SQLiteStore

_HEAD = "SELECT seq FROM audit ORDER BY seq DESC LIMIT 1"
_EDGE_ROW = "SELECT s.id, e.type, d.id, e.src_kind, e.dst_kind, e.recorded_at, e.retracted_at"
#: A full load reads the nodes' numbers once and the edges as stored (a join would look up two
#: nodes per edge in the store: 1.4x the load time at 1M nodes).
_NODE_NUMBERS = "SELECT n, id FROM nodes"
_ALL_EDGES = "SELECT src_n, type, dst_n, src_kind, dst_kind, recorded_at, retracted_at FROM edges"
_EDGES_TOUCHING = (
    f"{_EDGE_ROW} FROM json_each(:ids) f CROSS JOIN nodes s ON s.id = f.value "
    "CROSS JOIN edges e ON e.src_n = s.n CROSS JOIN nodes d ON d.n = e.dst_n UNION ALL "
    f"{_EDGE_ROW} FROM json_each(:ids) f CROSS JOIN nodes d ON d.id = f.value "
    "CROSS JOIN edges e INDEXED BY edges_in ON e.dst_n = d.n CROSS JOIN nodes s ON s.n = e.src_n"
)

_OWNERS_ALL = "SELECT a.node_id, a.value FROM annotations a WHERE a.key = 'owner' AND a.retracted_at IS NULL"
_OWNERS_OF = (
    "SELECT a.node_id, a.value FROM json_each(:ids) f CROSS JOIN annotations a ON a.node_id = f.value "
    "AND a.key = 'owner' WHERE a.retracted_at IS NULL"
)
_DEPLOYMENTS_ALL = (
    "SELECT n.id, n.namespace, n.properties FROM nodes n WHERE n.kind = 'Deployment' AND n.retracted_at IS NULL"
)
_DEPLOYMENTS_OF = (
    "SELECT n.id, n.namespace, n.properties FROM json_each(:ids) f CROSS JOIN nodes n ON n.id = f.value "
    "WHERE n.kind = 'Deployment' AND n.retracted_at IS NULL"
)

#: Edges converted per step of a full load (bounds the Python objects alive at once).
CHUNK = 100_000

#: Past this many changed subjects a fresh load is cheaper than following them one by one.
MAX_SUBJECTS = 200_000


def _ids_by_number(conn: sqlite3.Connection) -> list[str] | dict[int, str]:
    """Node ids by their numbers. The store numbers nodes 1, 2, 3...: a list, "" where none, is the
    smallest map. Numbers far apart (an edited file) get a dict instead of a list that large."""
    top, count = conn.execute("SELECT max(n), count(*) FROM nodes").fetchone()
    if top is not None and top > 2 * count + 1024:
        return dict(conn.execute(_NODE_NUMBERS).fetchall())
    ids = [""] * ((top or 0) + 1)
    for n, node_id in conn.execute(_NODE_NUMBERS):
        if n >= 0:
            ids[n] = node_id
    return ids


def _named(rows: list[Any], ids: list[str] | dict[int, str]) -> list[EdgeRow]:
    """Edge rows with their nodes' ids. An edge whose number names no node (an edited file) is left
    out, as a join would leave it out."""
    if isinstance(ids, list):
        top = len(ids)
        try:
            return [
                (si, t, di, sk, dk, r, x)
                for s, t, d, sk, dk, r, x in rows
                if 0 <= s < top and 0 <= d < top and (si := ids[s]) and (di := ids[d])
            ]
        except TypeError:  # a number edited into text or a fraction
            ids = {n: i for n, i in enumerate(ids) if i}
    return [(ids[s], t, ids[d], sk, dk, r, x) for s, t, d, sk, dk, r, x in rows if s in ids and d in ids]


class SQLiteIndexFeed:
    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def index_head(self) -> int:
        rows = self._store._q(_HEAD)
        return int(rows[0][0]) if rows else 0

    def index_load(self, consume: Callable[[Iterable[EdgeRow]], None]) -> int:
        store = self._store
        try:
            conn = store.connect()
            try:
                conn.execute("BEGIN")  # one read snapshot for the head and the edges
                row = conn.execute(_HEAD).fetchone()
                ids = _ids_by_number(conn)
                cursor = conn.execute(_ALL_EDGES)
                while rows := cursor.fetchmany(CHUNK):
                    consume(_named(rows, ids))
                del ids
                conn.execute("COMMIT")
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise BackendUnavailableError(f"store {store.url!r} unavailable: {exc}") from None
        return int(row[0]) if row else 0

    def index_changes(self, after_seq: int) -> Changes | None:
        entries = self._store._q("SELECT seq, subjects FROM audit WHERE seq > ? ORDER BY seq", (after_seq,))
        if not entries:
            return Changes(after_seq, [], [])
        subjects: dict[str, None] = {}
        for _, text in entries:
            subjects.update(dict.fromkeys(json.loads(text)))
            if len(subjects) > MAX_SUBJECTS:
                return None
        ids = json.dumps(list(subjects))
        rows = self._store._q(_EDGES_TOUCHING, {"ids": ids})
        return Changes(int(entries[-1][0]), rows, list(subjects))

    def index_facts(self, ids: Sequence[str] | None) -> list[Fact]:
        q = self._store._q
        if ids is None:
            owned, deployed = q(_OWNERS_ALL), q(_DEPLOYMENTS_ALL)
        else:
            param = {"ids": json.dumps(list(ids))}
            owned, deployed = q(_OWNERS_OF, param), q(_DEPLOYMENTS_OF, param)
        owners: dict[str, list[str]] = {i: [] for i in ids or ()}
        for node_id, value in owned:
            owners.setdefault(node_id, []).append(value)
        prod = {node_id for node_id, ns, props in deployed if is_production_env("Deployment", ns, json.loads(props))}
        every = dict.fromkeys(owners)
        every.update(dict.fromkeys(prod))
        return [(i, tuple(sorted(owners.get(i, ()))), i in prod) for i in every]
