"""The hottest statements, run on the driver's own cursor.

SQLAlchemy Core spends ~40 µs of Python on each statement it runs (measured: an agent read
took 44 µs through Core and 6 µs on the sqlite3 cursor), which on the hot paths (create a
session, send events, read one) was most of the work. A statement built once, at module
level, is compiled here once per dialect and then run by the driver directly. Its rows are
named tuples, read by column name like SQLAlchemy's rows; driver errors are wrapped the way
SQLAlchemy wraps them, so callers (and `database._translate`) see the same exceptions.

Only for statements with plain columns: no type converts a value on the way in or out
(true of every table here: text, integers, floats and bytes).
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any, cast

from sqlalchemy import Connection, Dialect, Result, exc
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import await_only

# Named parameters (`:name`) let SQLite take the same dicts as every other statement here.
_SQLITE = SQLiteDialect_pysqlite(paramstyle="named")


class _Compiled:
    __slots__ = ("statement", "sql", "fixed", "row")

    def __init__(self, statement: ClauseElement, sql: str, fixed: dict[str, Any]) -> None:
        self.statement = statement  # held, so that its id() is never reused
        self.sql = sql
        self.fixed = fixed  # values the statement carries itself (SQLite's OFFSET 0, say)
        self.row: Any = None


_cache: dict[tuple[int, str], _Compiled] = {}


def _compiled(conn: Connection, statement: ClauseElement) -> _Compiled:
    return _for_dialect(conn.dialect, statement)


def sql(dialect: Dialect, statement: ClauseElement, params: dict[str, Any]
        ) -> tuple[str, dict[str, Any]]:
    """The statement's SQL for `dialect` and its full parameters, for a caller that runs
    it on a driver connection of its own (`Database.read_one` on a held psycopg connection)."""
    compiled = _for_dialect(dialect, statement)
    return compiled.sql, _params(compiled, params, False)


def _for_dialect(dialect: Dialect, statement: ClauseElement) -> _Compiled:
    key = (id(statement), dialect.name)
    found = _cache.get(key)
    if found is None:
        compiled = cast(SQLCompiler, statement.compile(
            dialect=_SQLITE if dialect.name == "sqlite" else dialect))
        fixed = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
        found = _cache[key] = _Compiled(statement, compiled.string, fixed)
    return found


def _params(compiled: _Compiled, params: Any, many: bool) -> Any:
    if not compiled.fixed:
        return params
    if many:
        return [{**compiled.fixed, **p} for p in params]
    return {**compiled.fixed, **params}


def _run(conn: Connection, compiled: _Compiled, params: Any, many: bool = False) -> Any:
    flush(conn)
    driver = conn.connection.dbapi_connection
    assert driver is not None
    params = _params(compiled, params, many)
    cursor = driver.cursor()
    try:
        if many:
            cursor.executemany(compiled.sql, params)
        else:
            cursor.execute(compiled.sql, params)
    except conn.dialect.loaded_dbapi.Error as error:
        cursor.close()
        raise _wrapped(conn, error, compiled.sql, params, many) from error
    return cursor


def _wrapped(conn: Connection, error: Any, sql: str, params: Any,
             many: bool) -> exc.StatementError:
    """A driver error as SQLAlchemy would have raised it (the connection invalidated when
    the error says it is gone)."""
    driver = conn.connection.dbapi_connection
    gone = conn.dialect.is_disconnect(error, driver, None)
    if gone:
        conn.invalidate(error)
    return exc.DBAPIError.instance(sql, params, error, conn.dialect.loaded_dbapi.Error,
                                   hide_parameters=True, connection_invalidated=gone,
                                   dialect=conn.dialect, ismulti=many)


def _row_type(compiled: _Compiled, cursor: Any) -> Any:
    if compiled.row is None:
        compiled.row = namedtuple("Row", [d[0] for d in cursor.description])  # type: ignore[misc]
    return compiled.row


def first(conn: Connection, statement: ClauseElement, params: dict[str, Any]) -> Any:
    """The first row, or None."""
    compiled = _compiled(conn, statement)
    cursor = _run(conn, compiled, params)
    try:
        found = cursor.fetchone()
        return None if found is None else _row_type(compiled, cursor)._make(found)
    finally:
        cursor.close()


def fetch_all(conn: Connection, statement: ClauseElement, params: dict[str, Any]) -> list[Any]:
    """Every row."""
    compiled = _compiled(conn, statement)
    cursor = _run(conn, compiled, params)
    try:
        found = cursor.fetchall()
        if not found:
            return []
        make = _row_type(compiled, cursor)._make
        return [make(values) for values in found]
    finally:
        cursor.close()


# Deferred writes (PostgreSQL): a write whose result nobody reads waits, and goes to the
# database with the next statement or with the COMMIT, in one round trip (psycopg's
# pipeline mode). An append held its session's row lock over six round trips, now over
# three: measured +16% SendEvents to one session. Pipeline mode costs CPU of its own, so
# only transactions under a contended lock use it (a CreateSession measured 10% slower).
# By connection object: each is one checkout, used by one unit of work at a time.
_deferred: dict[int, list[tuple[str, Any, bool]]] = {}


def defer_writes(conn: Connection) -> None:
    """On PostgreSQL, from now on `write` on this connection waits for the next statement
    or the commit (which the unit of work sends with `commit`). Elsewhere a write runs at
    once."""
    if conn.dialect.name == "postgresql":
        _deferred.setdefault(id(conn), [])


def write(conn: Connection, statement: ClauseElement, params: Any, many: bool = False) -> None:
    """Runs an INSERT, UPDATE or statement whose result is not needed (now, or deferred)."""
    deferred = _deferred.get(id(conn))
    if deferred is None:
        _run(conn, _compiled(conn, statement), params, many).close()
        return
    compiled = _compiled(conn, statement)
    deferred.append((compiled.sql, _params(compiled, params, many), many))


def flush(conn: Connection) -> None:
    """Sends the deferred writes, if any, ahead of the statement about to run."""
    deferred = _deferred.get(id(conn))
    if deferred:
        _send(conn, deferred, commit=False)
        deferred.clear()


def commit(conn: Connection) -> None:
    """Sends the deferred writes and the COMMIT together, and stops deferring. (A
    transaction with nothing deferred commits as usual, when its block ends.)"""
    deferred = _deferred.pop(id(conn), None)
    if deferred:
        _send(conn, deferred, commit=True)


def stop_deferring(conn: Connection) -> None:
    """Drops what was deferred, if anything (the unit of work has ended)."""
    _deferred.pop(id(conn), None)


def _send(conn: Connection, deferred: list[tuple[str, Any, bool]], commit: bool) -> None:
    adapted = conn.connection.dbapi_connection
    psycopg_conn = adapted._connection  # type: ignore[union-attr]

    async def pipelined() -> None:
        async with psycopg_conn.pipeline(), psycopg_conn.cursor() as cursor:
            for sql, params, many in deferred:
                if many:
                    await cursor.executemany(sql, params)
                else:
                    await cursor.execute(sql, params)
            if commit:
                await psycopg_conn.commit()

    try:
        await_only(pipelined())
    except conn.dialect.loaded_dbapi.Error as error:
        # In a pipeline the error surfaces at the sync, not at the statement that caused it.
        statements = "; ".join(sql for sql, _, _ in deferred)
        raise _wrapped(conn, error, statements, None, False) from error


def write_many(conn: Connection, statement: ClauseElement, rows: list[dict[str, Any]]) -> None:
    """`write`, once per row."""
    if len(rows) == 1:
        write(conn, statement, rows[0])
    else:
        write(conn, statement, rows, many=True)


_named: dict[tuple[str, ...], Any] = {}


def named(result: Result[Any]) -> list[Any]:
    """The rows of a result SQLAlchemy ran, as named tuples: reading a field of one costs a
    fifth of reading it from SQLAlchemy's row (measured: 21 sessions converted in 38 µs
    instead of 196 µs). For queries built per call, which the statements above are not."""
    keys = tuple(result.keys())
    row: Any = _named.get(keys)
    if row is None:
        row = _named[keys] = namedtuple("Row", keys)
    make = row._make
    return [make(values) for values in result]
