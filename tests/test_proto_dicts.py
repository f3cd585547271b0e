"""proto_dicts.fill gives what json_format.ParseDict gives, for every message type of the
contract, filled every way its oneofs allow, and for dicts of any shape."""

from __future__ import annotations

import importlib
import pkgutil

import managedagents.v1
import pytest
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import given, settings
from hypothesis import strategies as st
from managedagents.v1 import event_pb2, session_pb2

from server.api import proto_dicts


def _all_types() -> list[Descriptor]:
    found: list[Descriptor] = []

    def walk(descriptor: Descriptor) -> None:
        if not descriptor.GetOptions().map_entry:
            found.append(descriptor)
        for nested in descriptor.nested_types:
            walk(nested)
    for module in pkgutil.iter_modules(managedagents.v1.__path__):
        if module.name.endswith("_pb2"):
            file = importlib.import_module(f"managedagents.v1.{module.name}").DESCRIPTOR
            for descriptor in file.message_types_by_name.values():
                walk(descriptor)
    return found


TYPES = _all_types()
FD = FieldDescriptor


def _sample(descriptor: Descriptor, choice: int, depth: int = 0) -> Message:
    """A message with every field set (one member of each oneof, picked by `choice`), with
    values that stress the JSON form: 64-bit integers, bytes, enums, nested and repeated."""
    message = GetMessageClass(descriptor)()
    if descriptor.full_name == "google.protobuf.Struct":
        message.update({"n": 1.5, "s": "x", "b": True, "z": None, "l": [1, "a", {"k": []}],
                        "d": {"e": {}}})
        return message
    if descriptor.full_name == "google.protobuf.Timestamp":
        message.FromJsonString("2026-12-05T01:02:03.456789Z")
        return message
    skip = {o.fields[(choice + i) % len(o.fields)].name
            for i, o in enumerate(descriptor.oneofs) if len(o.fields) > 1}
    for field in descriptor.fields:
        if field.containing_oneof is not None and field.name not in skip and \
                len(field.containing_oneof.fields) > 1:
            continue
        if depth > 4 and (field.message_type is not None or field.is_repeated):
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            target = getattr(message, field.name)
            for key in ("a", "b-c"):
                if value_field.message_type is not None:
                    target[key].CopyFrom(_sample(value_field.message_type, choice, depth + 1))
                else:
                    target[key] = _scalar(value_field)
            continue
        items = 2 if field.is_repeated else 1
        for i in range(items):
            if field.message_type is not None:
                sub = _sample(field.message_type, choice + i, depth + 1)
                if field.is_repeated:
                    getattr(message, field.name).add().CopyFrom(sub)
                else:
                    getattr(message, field.name).CopyFrom(sub)
            elif field.is_repeated:
                getattr(message, field.name).append(_scalar(field))
            else:
                setattr(message, field.name, _scalar(field))
    return message


def _scalar(field: FieldDescriptor) -> object:
    if field.type == FD.TYPE_STRING:
        return f"{field.name} é ✓"
    if field.type == FD.TYPE_BYTES:
        return b"\x00\xff\xfe binary"
    if field.type == FD.TYPE_BOOL:
        return True
    if field.type in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        return 2.5
    if field.type == FD.TYPE_ENUM:
        return field.enum_type.values[-1].number
    if field.type in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64):
        return -(2 ** 40) - 3
    if field.type in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
        return 2 ** 63 + 5
    return 7


def _parse_dict(descriptor: Descriptor, value: object) -> Message:
    message = GetMessageClass(descriptor)()
    json_format.ParseDict(value, message, ignore_unknown_fields=True)
    return message


@pytest.mark.parametrize("descriptor", TYPES, ids=[d.full_name for d in TYPES])
def test_fill_gives_what_parse_dict_gives_for_every_type(descriptor):
    for choice in range(3):
        original = _sample(descriptor, choice)
        stored = json_format.MessageToDict(original, preserving_proto_field_name=True)
        filled = GetMessageClass(descriptor)()
        proto_dicts.fill(filled, stored)
        assert filled == _parse_dict(descriptor, stored) == original


def test_every_event_payload_is_filled_by_plan():
    """The fast path is the one taken for what streams and lists send most."""
    payloads = [f.message_type for f in event_pb2.Event.DESCRIPTOR.oneofs_by_name["payload"]
                .fields]
    assert payloads and all(proto_dicts.planned(p) for p in payloads), \
        [p.full_name for p in payloads if not proto_dicts.planned(p)]


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats()
    | st.text(max_size=5) | st.sampled_from(["NaN", "-5", "12345678901234567890", "AAE="]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["text", "type", "content", "input", "name", "id",
                                       "data", "usage", "x"]), inner, max_size=4),
    max_leaves=12)


@pytest.mark.parametrize("stored", [{"stats": {"active_seconds": float("nan")}},
                                    {"stats": {"duration_seconds": float("inf")}},
                                    {"[ext.x]": 1}])
def test_values_no_json_holds_are_refused_as_parse_dict_refuses_them(stored):
    with pytest.raises(json_format.ParseError):
        json_format.ParseDict(stored, session_pb2.Session(), ignore_unknown_fields=True)
    with pytest.raises(json_format.ParseError):
        proto_dicts.fill(session_pb2.Session(), stored)


def test_two_members_of_a_oneof_are_refused_as_parse_dict_refuses_them():
    stored = {"user_message": {"content": [{"type": "text", "text": "a"}]},
              "user_interrupt": {}}
    with pytest.raises(json_format.ParseError, match="oneof"):
        proto_dicts.fill(event_pb2.Event(), stored)


@settings(max_examples=400, deadline=None)
@given(descriptor=st.sampled_from(TYPES), value=st.dictionaries(
    st.sampled_from(["text", "type", "content", "input", "name", "id", "data", "usage",
                     "input_tokens", "stop_reason", "result", "metadata", "created_at", "x",
                     "user_message", "user_interrupt", "agent_message", "sequence",
                     "active_seconds", "duration_seconds", "stats", "[ext.x]"]),
    _json, max_size=5))
def test_fill_agrees_with_parse_dict_on_any_dict(descriptor, value):
    """Whatever the dict, the same message or the same refusal."""
    try:
        expected = _parse_dict(descriptor, value)
    except json_format.ParseError:
        with pytest.raises(json_format.ParseError):
            proto_dicts.fill(GetMessageClass(descriptor)(), value)
        return
    filled = GetMessageClass(descriptor)()
    proto_dicts.fill(filled, value)
    assert filled == expected
