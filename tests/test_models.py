"""shallow_copy: what copy.copy makes of a domain object."""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields

from server.domain.models import Agent, Event, Session, shallow_copy


def _session() -> Session:
    agent = Agent(id="agent_1", version=2, name="n", description="d", model="m", system="s",
                  tools=[{"name": "t"}], metadata={"k": "v"}, archived_at=None,
                  created_at=1, updated_at=2)
    return Session(id="sess_1", agent=agent, environment_id="env_1", status="running",
                   turn_status="running", turn_id="turn_1", title="t", metadata={"a": "b"},
                   resources=[{"type": "file"}], vault_ids=["vault_1"],
                   memory_store_ids=["memstore_1"], active_seconds=1.5, last_sequence=7,
                   archived_at=None, created_at=3, updated_at=4, pending_actions=["evt_1"],
                   lease_id="l", lease_owner="o", lease_expires_at=5, running_since=6)


def test_a_shallow_copy_is_a_new_object_with_the_same_values_shared():
    for original in (_session(), Event(id="evt_1", type="user.message", session_id="sess_1",
                                        payload={"content": []}, sequence=3, turn_id="turn_1",
                                        created_at=1, processed_at=2)):
        copied = shallow_copy(original)
        assert copied is not original and copied == original == copy.copy(original)
        for f in fields(original):
            assert getattr(copied, f.name) is getattr(original, f.name)
        copied.turn_id = "turn_2"  # a field set on the copy leaves the original alone
        assert original.turn_id == "turn_1"


def test_a_class_of_one_field_copies_too():
    @dataclass(slots=True)
    class One:
        value: list[int]

    one = One([1])
    assert shallow_copy(one) == one and shallow_copy(one).value is one.value
