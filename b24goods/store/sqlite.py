"""SQLite adapter: the embedded default (``sqlite:///var/b24goods.db``).

One table of JSON documents. ``BEGIN IMMEDIATE`` takes the database write lock before reading, so a
read-modify-write is atomic across threads and processes on one machine (WAL mode keeps readers unblocked).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import datetime
from decimal import Decimal
from typing import Any

from .base import EXPIRES_FIELD, Doc, Mutator, StoreStats, is_expired

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    ns TEXT NOT NULL, coll TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL, expires_at TEXT,
    PRIMARY KEY (ns, coll, key)
) WITHOUT ROWID;
"""


def _dumps(doc: Doc) -> str:
    return json.dumps(doc, ensure_ascii=False, default=_default, sort_keys=True)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")  # money is stored exactly, as text (never an exponent)
    return str(value)


class SqliteStore:
    def __init__(self, path: str) -> None:
        self.path = path
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._local = threading.local()
        self.stats = StoreStats()
        with self._conn() as conn:
            conn.executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    def _read(self, conn: sqlite3.Connection, ns: str, coll: str, key: str) -> Doc | None:
        row = conn.execute("SELECT data FROM docs WHERE ns=? AND coll=? AND key=?", (ns, coll, key)).fetchone()
        self.stats.reads += 1
        if row is None:
            return None
        doc: Doc = json.loads(row[0])
        return None if is_expired(doc) else doc

    def _write(self, conn: sqlite3.Connection, ns: str, coll: str, key: str, doc: Doc) -> None:
        expires = doc.get(EXPIRES_FIELD)
        conn.execute("INSERT OR REPLACE INTO docs (ns, coll, key, data, expires_at) VALUES (?,?,?,?,?)",
                     (ns, coll, key, _dumps(doc), _default(expires) if expires else None))
        self.stats.writes += 1

    def get(self, ns: str, coll: str, key: str) -> Doc | None:
        return self._read(self._conn(), ns, coll, key)

    def create(self, ns: str, coll: str, key: str, data: Doc, *, expires_at: datetime | None = None) -> bool:
        created = False

        def mutate(current: Doc | None) -> Doc | None:
            nonlocal created
            if current is not None:
                return None
            created = True
            return {**data, EXPIRES_FIELD: expires_at} if expires_at else dict(data)

        self.transact(ns, coll, key, mutate)
        return created

    def put(self, ns: str, coll: str, key: str, data: Doc, *, expires_at: datetime | None = None) -> None:
        doc = {**data, EXPIRES_FIELD: expires_at} if expires_at else dict(data)
        self._write(self._conn(), ns, coll, key, json.loads(_dumps(doc)))

    def delete(self, ns: str, coll: str, key: str) -> None:
        self._conn().execute("DELETE FROM docs WHERE ns=? AND coll=? AND key=?", (ns, coll, key))
        self.stats.writes += 1

    def transact(self, ns: str, coll: str, key: str, mutate: Mutator) -> Doc | None:
        conn = self._conn()
        self.stats.transactions += 1
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = self._read(conn, ns, coll, key)
            new = mutate(json.loads(_dumps(current)) if current is not None else None)
            if new is not None:
                new = json.loads(_dumps(new))
                self._write(conn, ns, coll, key, new)
                current = new
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return current

    def list(self, ns: str, coll: str, *, limit: int = 100, start_after: str | None = None,
             descending: bool = False) -> list[tuple[str, Doc]]:
        order = "DESC" if descending else "ASC"
        op = "<" if descending else ">"
        sql = "SELECT key, data FROM docs WHERE ns=? AND coll=?"  # noqa: S608 - fixed fragments only
        args: list[Any] = [ns, coll]
        if start_after is not None:
            sql += f" AND key {op} ?"
            args.append(start_after)
        sql += f" ORDER BY key {order} LIMIT ?"
        args.append(limit)
        rows = self._conn().execute(sql, args).fetchall()
        self.stats.reads += max(1, len(rows))
        out = [(k, json.loads(d)) for k, d in rows]
        return [(k, d) for k, d in out if not is_expired(d)]

    def drop_namespace(self, ns: str) -> int:
        deleted = self._conn().execute("DELETE FROM docs WHERE ns=?", (ns,)).rowcount
        self.stats.writes += max(1, deleted)
        return int(deleted)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
