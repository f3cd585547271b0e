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

from sqlalchemy import Connection, Result, exc
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

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
    dialect = conn.dialect
    key = (id(statement), dialect.name)
    found = _cache.get(key)
    if found is None:
        compiled = cast(SQLCompiler, statement.compile(
            dialect=_SQLITE if dialect.name == "sqlite" else dialect))
        fixed = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
        found = _cache[key] = _Compiled(statement, compiled.string, fixed)
    return found


def _run(conn: Connection, compiled: _Compiled, params: Any, many: bool = False) -> Any:
    driver = conn.connection.dbapi_connection
    assert driver is not None
    if compiled.fixed:
        params = ([{**compiled.fixed, **p} for p in params] if many
                  else {**compiled.fixed, **params})
    cursor = driver.cursor()
    try:
        if many:
            cursor.executemany(compiled.sql, params)
        else:
            cursor.execute(compiled.sql, params)
    except conn.dialect.loaded_dbapi.Error as error:
        cursor.close()
        gone = conn.dialect.is_disconnect(error, driver, cursor)
        if gone:
            conn.invalidate(error)
        raise exc.DBAPIError.instance(compiled.sql, params, error,
                                      conn.dialect.loaded_dbapi.Error, hide_parameters=True,
                                      connection_invalidated=gone, dialect=conn.dialect,
                                      ismulti=many) from error
    return cursor


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


def all(conn: Connection, statement: ClauseElement, params: dict[str, Any]) -> list[Any]:
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


def execute(conn: Connection, statement: ClauseElement, params: dict[str, Any]) -> int:
    """Runs an INSERT, UPDATE or DELETE; returns the number of rows it changed."""
    cursor = _run(conn, _compiled(conn, statement), params)
    count: int = cursor.rowcount
    cursor.close()
    return count


def execute_many(conn: Connection, statement: ClauseElement, rows: list[dict[str, Any]]) -> None:
    """Runs an INSERT once per row."""
    if len(rows) == 1:
        execute(conn, statement, rows[0])
        return
    _run(conn, _compiled(conn, statement), rows, many=True).close()


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
