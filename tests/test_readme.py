"""The README's grpcurl walkthrough, run against a real server, so it stays true."""

from __future__ import annotations

import json
import re
from pathlib import Path

import managedagents.v1.session_pb2  # noqa: F401 - registers the contract's descriptors
from google.protobuf import descriptor_pool, json_format, message_factory

README = Path(__file__).resolve().parent.parent / "README.md"
COMMAND = re.compile(r"grpcurl -plaintext -d (?P<q>['\"])(?P<body>.*?)(?P=q) \\\n\s+"
                     r"127\.0\.0\.1:50051 (?P<method>managedagents\.v1\.\w+/\w+)")


def _walkthrough():
    for match in COMMAND.finditer(README.read_text()):
        body = match["body"]
        if match["q"] == '"':
            body = body.replace('\\"', '"')
        yield match["method"], body


def _call(server, method, body):
    service_name, method_name = method.split("/")
    service = descriptor_pool.Default().FindServiceByName(service_name)
    rpc = service.methods_by_name[method_name]
    request_type = message_factory.GetMessageClass(rpc.input_type)
    response_type = message_factory.GetMessageClass(rpc.output_type)
    request = json_format.Parse(body, request_type())
    kind = server.channel.unary_stream if rpc.server_streaming else server.channel.unary_unary
    call = kind(f"/{method}", request_serializer=request_type.SerializeToString,
                response_deserializer=response_type.FromString)
    if rpc.server_streaming:
        stream = call(request)
        first = next(stream)
        stream.cancel()
        return json.loads(json_format.MessageToJson(first))
    return json.loads(json_format.MessageToJson(call(request)))


def test_the_walkthrough_runs(server):
    steps = list(_walkthrough())
    assert [m.split("/")[1] for m, _ in steps] == [
        "CreateAgent", "CreateEnvironment", "CreateSession", "SendEvents", "ListEvents",
        "StreamEvents"]
    names = {"$AGENT": None, "$ENV": None, "$SESSION": None}
    results = []
    for method, body in steps:
        for name, value in names.items():
            if value is not None:
                body = body.replace(name, value)
        reply = _call(server, method, body)
        results.append(reply)
        for name, prefix in (("$AGENT", "agent_"), ("$ENV", "env_"), ("$SESSION", "sess_")):
            if reply.get("id", "").startswith(prefix):
                names[name] = reply["id"]
    assert all(names.values())
    assert results[3]["events"][0]["user_message"]["content"][0]["text"] == "Hello!"
    assert results[4]["events"][0]["sequence"] == "1"
    assert results[5]["event"]["type"] == "user.message"
