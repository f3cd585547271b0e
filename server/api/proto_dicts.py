"""Stored JSON-shaped dicts into protobuf messages, fast.

`json_format.ParseDict` interprets a dict field by field in Python, checking each value
against the whole JSON mapping: 22 µs for a one-line `user.message`, most of the cost of
turning a stored event into its message. The dicts here are the service's own, made by
`json_format.MessageToDict(..., preserving_proto_field_name=True)` when a request was
stored, so a plan per message type (which key is which field, and how its value goes in)
does the same in a fraction of the time.

Whatever the plan does not cover (`google.protobuf.Value`, `Any` and the other well-known
types but `Struct` and `Timestamp`; a value of an unexpected shape, such as "NaN" for a
float) goes to `ParseDict`, which gives the same message: tests/test_proto_dicts.py
checks the two agree on every message type of the contract.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

Json = dict[str, Any]
# How one key's value goes into the message: (message, field name, value) -> None.
Setter = Callable[[Message, str, Any], None]

_FD = FieldDescriptor
_INT64 = frozenset({_FD.TYPE_INT64, _FD.TYPE_UINT64, _FD.TYPE_SINT64, _FD.TYPE_FIXED64,
                    _FD.TYPE_SFIXED64})
_PLAIN = frozenset({_FD.TYPE_STRING, _FD.TYPE_BOOL, _FD.TYPE_INT32, _FD.TYPE_UINT32,
                    _FD.TYPE_SINT32, _FD.TYPE_FIXED32, _FD.TYPE_SFIXED32, _FD.TYPE_FLOAT,
                    _FD.TYPE_DOUBLE})

# Per message type: key -> (field name, setter, group); None for a type the plan does not
# cover. Keys of one group may not come together (ParseDict refuses such a dict): the
# members of a oneof, or a field's two names.
Plan = dict[str, tuple[str, Setter, str | None]]
_plans: dict[Descriptor, Plan | None] = {}


class _NotPlanned(Exception):
    """A value the plan cannot take as it is: the caller falls back to ParseDict."""


def fill(message: Message, value: Json) -> None:
    """Fills the empty `message` from a dict made by `MessageToDict` with proto field names,
    as `json_format.ParseDict(value, message, ignore_unknown_fields=True)` would."""
    plan = _plan(message.DESCRIPTOR)  # type: ignore[arg-type]  # (upb's descriptor)
    if plan is not None:
        try:
            _fill(message, value, plan)
            return
        except (_NotPlanned, TypeError, ValueError, KeyError, AttributeError):
            message.Clear()  # (nothing half-filled survives: ParseDict starts afresh)
    json_format.ParseDict(value, message, ignore_unknown_fields=True)


def planned(descriptor: Descriptor) -> bool:
    """Whether messages of this type are filled by plan (else by ParseDict)."""
    return _plan(descriptor) is not None


def _fill(message: Message, value: Json, plan: Plan) -> None:
    if type(value) is not dict:
        raise _NotPlanned
    groups: set[str] | None = None
    for key, item in value.items():
        entry = plan.get(key)
        if entry is None and key.startswith("["):
            raise _NotPlanned  # an extension's name: ParseDict says what it makes of it
        if entry is None or item is None:
            continue  # a key of no field (ignored, as ParseDict is told to), or a null
        name, setter, group = entry
        if group is not None:
            groups = groups if groups is not None else set()
            if group in groups:
                raise _NotPlanned  # two members of a oneof: ParseDict says which
            groups.add(group)
        setter(message, name, item)


def _plan(descriptor: Descriptor) -> Plan | None:
    if descriptor in _plans:
        return _plans[descriptor]
    _plans[descriptor] = None  # while planning: a type that contains itself is not covered
    plan: Plan | None = {}
    for field in descriptor.fields:
        setter = _setter(field)
        if setter is None:
            plan = None
            break
        assert plan is not None
        oneof = field.containing_oneof
        group = (f"oneof {oneof.name}" if oneof is not None and len(oneof.fields) > 1
                 else field.name if field.json_name != field.name else None)
        # ParseDict takes a field by either name.
        plan[field.name] = plan[field.json_name] = (field.name, setter, group)
    _plans[descriptor] = plan
    return plan


def _setter(field: FieldDescriptor) -> Setter | None:
    """How a value goes into `field`, or None when the plan does not cover its type."""
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return _map_setter(field)
    convert = _converter(field)
    if convert is None:
        return None
    repeated = field.is_repeated
    if field.message_type is None:
        if repeated:
            return lambda m, name, items: getattr(m, name).extend(
                [convert(item) for item in _list(items)])
        return lambda m, name, item: setattr(m, name, convert(item))
    fill_one = convert  # for a message field: (target message, value) -> None
    if repeated:
        def add_all(m: Message, name: str, items: Any) -> None:
            container = getattr(m, name)
            for item in _list(items):
                fill_one(container.add(), item)
        return add_all

    def fill_field(m: Message, name: str, item: Any) -> None:
        sub = getattr(m, name)
        sub.SetInParent()
        fill_one(sub, item)
    return fill_field


def _converter(field: FieldDescriptor) -> Callable[..., Any] | None:
    """For a scalar field, value -> what to set; for a message field, (message, value) ->
    None; None when the plan does not cover the type."""
    kind = field.type
    if field.message_type is not None:
        full_name = field.message_type.full_name
        if full_name == "google.protobuf.Struct":
            return _fill_struct
        if full_name == "google.protobuf.Timestamp":
            return _fill_timestamp
        if full_name.startswith("google.protobuf."):
            return None
        plan = _plan(field.message_type)
        if plan is None:
            return None
        return lambda message, value: _fill(message, value, plan)
    if kind in _PLAIN:
        return _plain(kind)
    if kind in _INT64:
        return _int64
    if kind == _FD.TYPE_ENUM:
        assert field.enum_type is not None
        numbers = {v.name: v.number for v in field.enum_type.values}
        return lambda value: numbers[value] if type(value) is str else _exact_int(value)
    if kind == _FD.TYPE_BYTES:
        return _bytes
    return None


def _plain(kind: int) -> Callable[[Any], Any]:
    if kind == _FD.TYPE_STRING:
        return _string
    if kind == _FD.TYPE_BOOL:
        return _bool
    if kind in (_FD.TYPE_FLOAT, _FD.TYPE_DOUBLE):
        return _number
    return _exact_int


def _string(value: Any) -> str:
    if type(value) is not str:
        raise _NotPlanned
    return value


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise _NotPlanned
    return value


def _number(value: Any) -> float:
    if type(value) not in (int, float) or not math.isfinite(value):
        raise _NotPlanned  # "NaN", "Infinity" and the like, quoted or not
    return float(value)


def _exact_int(value: Any) -> int:
    if type(value) is not int:
        raise _NotPlanned  # strings and floats: ParseDict's rules
    return value


def _int64(value: Any) -> int:
    if type(value) is str and value.lstrip("-").isdigit():
        return int(value)  # (MessageToDict writes 64-bit integers as strings)
    return _exact_int(value)


def _bytes(value: Any) -> bytes:
    if type(value) is not str:
        raise _NotPlanned
    encoded = value.encode()  # as ParseDict decodes: URL-safe or not, padding optional
    return base64.urlsafe_b64decode(encoded + b"=" * (-len(encoded) % 4))


def _list(items: Any) -> list[Any]:
    if type(items) is not list:
        raise _NotPlanned
    return items


def _fill_struct(message: Message, value: Any) -> None:
    if type(value) is not dict:
        raise _NotPlanned
    message.update(value)  # type: ignore[attr-defined]


def _fill_timestamp(message: Message, value: Any) -> None:
    if type(value) is not str:
        raise _NotPlanned
    message.FromJsonString(value)  # type: ignore[attr-defined]


def _map_setter(field: FieldDescriptor) -> Setter | None:
    entry = field.message_type
    assert entry is not None
    key_field, value_field = entry.fields_by_name["key"], entry.fields_by_name["value"]
    if key_field.type != _FD.TYPE_STRING or value_field.message_type is not None:
        return None  # (maps of messages, or with other keys, are left to ParseDict)
    convert = _converter(value_field)
    if convert is None:
        return None

    def set_map(m: Message, name: str, items: Any) -> None:
        if type(items) is not dict:
            raise _NotPlanned
        target = getattr(m, name)
        for key, item in items.items():
            target[key] = convert(item)
    return set_map
