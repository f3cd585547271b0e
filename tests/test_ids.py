"""IDs: a kind prefix and a ULID that python-ulid (the reference here) reads back."""

from __future__ import annotations

import time

from ulid import ULID

from server.domain import ids


def test_an_id_is_its_prefix_and_a_ulid_of_now():
    before = time.time()
    made = ids.new_id(ids.EVENT)
    after = time.time()
    prefix, _, ulid = made.partition("_")
    assert prefix == "evt" and len(ulid) == 26
    parsed = ULID.from_str(ulid)  # refuses anything but 26 Crockford base32 characters
    assert str(parsed) == ulid
    assert int(before * 1000) <= parsed.milliseconds <= int(after * 1000) + 1
    assert ids.has_prefix(made, ids.EVENT)


def test_ids_made_one_after_another_increase_and_differ():
    made = [ids.new_id(ids.SESSION) for _ in range(20_000)]
    assert len(set(made)) == len(made)
    assert made == sorted(made)  # within a millisecond too: the random part counts up
    parsed = [ULID.from_str(m.partition("_")[2]) for m in made]
    assert [p.milliseconds for p in parsed] == sorted(p.milliseconds for p in parsed)


def test_random_parts_differ_between_milliseconds():
    first = ULID.from_str(ids.new_id(ids.TURN).partition("_")[2])
    time.sleep(0.002)
    second = ULID.from_str(ids.new_id(ids.TURN).partition("_")[2])
    assert second.milliseconds > first.milliseconds
    assert bytes(second)[6:] != bytes(first)[6:]
