"""Keyset paging: continue strictly after the last row's sort key, in either direction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, tuple_


def page(query: Select[Any], columns: list[ColumnElement[Any]], after: list[Any] | None,
         descending: bool, limit: int) -> Select[Any]:
    """`query` in `columns` order from just after `after`, plus one row to tell if more follow."""
    bound = None if after is None else tuple_(*after)
    return _ordered(query, columns, bound, descending).limit(limit + 1)


def page_statement(query: Select[Any], columns: list[ColumnElement[Any]],
                   after: list[str] | None, descending: bool) -> Select[Any]:
    """`page` as a statement built once: the key to continue after, and the number of rows
    (`limit`: the page size plus one), are the parameters named in `after` and "limit"."""
    bound = None if after is None else tuple_(*(bindparam(name) for name in after))
    return _ordered(query, columns, bound, descending).limit(bindparam("limit", type_=Integer))


def _ordered(query: Select[Any], columns: list[ColumnElement[Any]], bound: Any,
             descending: bool) -> Select[Any]:
    if bound is not None:
        key = tuple_(*columns)
        query = query.where(key < bound if descending else key > bound)
    return query.order_by(*[c.desc() if descending else c.asc() for c in columns])
