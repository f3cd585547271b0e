"""The slots busy streams in runs send in: shared by every stream of the process, as short as
the event loop's load allows."""

from __future__ import annotations

import time

import pytest

from server.streaming import run_slots
from server.streaming.run_slots import LoopBusy, RunSlots


class Readings:
    """Busy shares handed out one a review, as `LoopBusy` would measure them."""

    def __init__(self, *shares: float | None) -> None:
        self.shares = list(shares)
        self.asked = 0

    def __call__(self) -> float | None:
        self.asked += 1
        return self.shares.pop(0) if self.shares else None


def reviewed(slots: RunSlots, times: int, start: float = 100.0) -> float:
    """Asks for a slot at `times` successive reviews; the loop time after the last."""
    now = start
    for _ in range(times):
        slots.next_slot(now, now)
        now += run_slots.REVIEW_S
    return now


@pytest.mark.parametrize("sent_at", [0.0, 0.001, 0.0099, 0.01, 12.3456, 1e6 + 0.0131])
@pytest.mark.parametrize("interval", [run_slots.MIN_INTERVAL, 0.025, run_slots.MAX_INTERVAL])
def test_streams_that_sent_within_one_slot_send_next_at_the_same_moment(sent_at, interval):
    """The slot's end: never later than a slot after the send, never at or before it."""
    slots = RunSlots(Readings())
    slots.interval = interval
    moment = slots.next_slot(sent_at, sent_at)
    assert sent_at < moment <= sent_at + interval + 1e-9
    slot_start = moment - interval
    for other in (slot_start + 1e-9, (slot_start + moment) / 2,
                  moment - 2 * run_slots.SAME_MOMENT):
        assert slots.next_slot(other, other) == pytest.approx(moment, abs=1e-9)


@pytest.mark.parametrize("interval", [run_slots.MIN_INTERVAL, 0.015, run_slots.MAX_INTERVAL])
def test_a_stream_that_sent_at_a_slots_end_sends_next_a_slot_later(interval):
    """A stream that waited for a slot's end and sent then (at the moment `next_slot` gave,
    or a microsecond either side of it) waits a whole slot, not none: its send is in the
    slot that ends there. Loop times of a day's uptime, where the float of a slot's end
    divided again by the length can fall short of it."""
    slots = RunSlots(Readings())
    slots.interval = interval
    for k in range(8_640_000 - 2_000, 8_640_000):
        end = slots.next_slot(k * interval, k * interval)  # as a stream waits for it
        for sent_at in (end, end - 0.5e-6, end + 0.5e-6):
            assert slots.next_slot(sent_at, sent_at) - end == pytest.approx(interval, abs=1e-6)


def test_a_stream_whose_slot_has_passed_sends_at_once():
    slots = RunSlots(Readings())
    sent_at, now = 100.003, 100.057  # woken late: several slots on
    assert slots.next_slot(sent_at, now) <= now
    assert slots.next_slot(sent_at, now) == pytest.approx(100.01)


def test_streams_that_sent_in_one_slot_share_the_next_after_the_length_changes():
    slots = RunSlots(Readings(None, 1.0))
    slots.next_slot(100.0, 100.0)  # the first review: no window yet
    assert slots.interval == run_slots.MIN_INTERVAL
    now = 100.0 + run_slots.REVIEW_S
    moments = {round(slots.next_slot(sent_at, now), 9) for sent_at in (100.4951, 100.4999)}
    grown = run_slots.MIN_INTERVAL * run_slots.GROW
    assert slots.interval == pytest.approx(grown)  # this call's review grew it
    assert len(moments) == 1
    (moment,) = moments
    assert 100.4999 < moment <= 100.4951 + grown + 1e-9


def test_slots_start_at_the_shortest():
    assert RunSlots(Readings()).interval == run_slots.MIN_INTERVAL


def test_a_loop_with_no_time_to_spare_lengthens_the_slots_up_to_the_longest():
    slots = RunSlots(Readings(*[run_slots.BUSY_HIGH] * 20))
    seen = []
    now = 100.0
    for _ in range(20):
        slots.next_slot(now, now)
        seen.append(slots.interval)
        now += run_slots.REVIEW_S
    assert seen[0] == pytest.approx(run_slots.MIN_INTERVAL * run_slots.GROW)
    assert seen == sorted(seen)
    assert seen[-1] == run_slots.MAX_INTERVAL


def test_a_loop_with_time_to_spare_shortens_the_slots_down_to_the_shortest():
    slots = RunSlots(Readings(*[run_slots.BUSY_LOW - 0.01] * 20))
    slots.interval = run_slots.MAX_INTERVAL
    reviewed(slots, 1)
    assert slots.interval == pytest.approx(run_slots.MAX_INTERVAL * run_slots.SHRINK)
    reviewed(slots, 19, start=200.0)
    assert slots.interval == run_slots.MIN_INTERVAL


def test_a_quiet_spell_with_time_to_spare_shrinks_the_slots_as_its_reviews_would_have():
    slots = RunSlots(Readings(None, run_slots.BUSY_LOW - 0.01))
    slots.interval = run_slots.MAX_INTERVAL
    slots.next_slot(100.0, 100.0)
    slots.next_slot(3700.0, 3700.0)  # the streams were quiet for an hour
    assert slots.interval == run_slots.MIN_INTERVAL


@pytest.mark.parametrize("share", [run_slots.BUSY_LOW, (run_slots.BUSY_LOW + run_slots.BUSY_HIGH)
                                   / 2, None])
def test_slots_stay_while_the_loop_is_between_the_marks_or_unmeasured(share):
    slots = RunSlots(Readings(*[share] * 5))
    slots.interval = 0.03
    reviewed(slots, 5)
    assert slots.interval == 0.03


def test_the_length_is_reviewed_at_most_once_a_review_period():
    readings = Readings(*[1.0] * 10)
    slots = RunSlots(readings)
    for step in range(100):  # 100 sends a review period apart by a hundredth of one
        now = 100.0 + step * run_slots.REVIEW_S / 100
        slots.next_slot(now, now)
    assert readings.asked == 1
    slots.next_slot(100.0 + run_slots.REVIEW_S, 100.0 + run_slots.REVIEW_S)
    assert readings.asked == 2


def shares_at_work_then_asleep(busy: LoopBusy) -> tuple[float | None, float | None]:
    """What `busy` measures over 0.3 s of work, then over 0.3 s asleep."""
    assert busy() is None  # no window yet
    end = time.monotonic() + 0.3
    while time.monotonic() < end:
        pass
    working = busy()
    time.sleep(0.3)
    return working, busy()


def test_loop_busy_counts_a_thread_at_work_as_busy_and_one_asleep_as_not():
    """Shares of wall time, whatever else the machine runs: a thread that always has work
    is running or waiting for a CPU all the time; one asleep is neither."""
    working, asleep = shares_at_work_then_asleep(LoopBusy())
    assert working is not None and working > 0.8
    assert asleep is not None and asleep < 0.3


def test_loop_busy_without_the_schedulers_accounting_counts_cpu_time(monkeypatch):
    """Where the kernel keeps no run and wait times for the thread, CPU time stands in."""
    monkeypatch.setattr(run_slots, "_scheduled_ns", lambda: None)
    working, asleep = shares_at_work_then_asleep(LoopBusy())
    assert working is not None and asleep is not None
    assert working > asleep
    assert asleep < 0.3
