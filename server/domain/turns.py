"""The session state machine: how events move a session between idle and running.

Every function here runs inside the session's transaction (on a SessionLog), so a
transition commits together with the event that caused it, or not at all.
"""

from __future__ import annotations

from server.domain import event_rules, ids
from server.domain.errors import FailedPrecondition, InvalidArgument
from server.domain.models import (
    CANCELING,
    IDLE,
    REQUIRES_ACTION,
    RUNNING,
    TERMINATED,
    Event,
    Json,
    Session,
)
from server.store import SessionLog

END_TURN = "STOP_REASON_END_TURN"
CANCELLED = "STOP_REASON_CANCELLED"
REQUIRES_ACTION_REASON = "STOP_REASON_REQUIRES_ACTION"


def emit(log: SessionLog, event_type: str, payload: Json, now: int) -> Event:
    """Appends an event of the service's own (processed as soon as it exists)."""
    return log.append(Event(id=ids.new_id(ids.EVENT), type=event_type,
                            session_id=log.session.id, payload=payload,
                            turn_id=log.session.turn_id, created_at=now, processed_at=now))


def check_open(s: Session, what: str = "takes no new events") -> None:
    """Archived and terminated sessions take no new events (and no other changes)."""
    if s.archived_at is not None:
        raise FailedPrecondition(f"session {s.id!r} is archived and {what}",
                                 "SESSION_ARCHIVED", s.id)
    if s.status == TERMINATED:
        raise FailedPrecondition(f"session {s.id!r} is terminated and {what}",
                                 "SESSION_TERMINATED", s.id)


def start_turn(log: SessionLog, messages: list[Event], now: int) -> None:
    """A new turn: new turn_id, running, `session.status_running` after its messages."""
    s = log.session
    s.turn_id = ids.new_id(ids.TURN)
    s.status = s.turn_status = RUNNING
    s.running_since = now
    for message in messages:
        message.turn_id = s.turn_id
    emit(log, "session.status_running", {}, now)


def resume_turn(log: SessionLog, now: int) -> None:
    """Every pending action was answered: the same turn runs again."""
    s = log.session
    s.status = s.turn_status = RUNNING
    s.running_since = now
    emit(log, "session.status_running", {}, now)


def stop_running(log: SessionLog, now: int) -> None:
    """Leaves the running state: active time grows, and the lease is let go."""
    s = log.session
    if s.running_since is not None:
        s.active_seconds += max(0, now - s.running_since) / 1e6
        s.running_since = None
    s.lease_id = s.lease_owner = None
    s.lease_expires_at = None


def end_turn(log: SessionLog, stop_reason: str, now: int) -> None:
    """Ends the turn; a message queued meanwhile starts the next one at once."""
    s = log.session
    stop_running(log, now)
    s.status = IDLE
    if stop_reason == REQUIRES_ACTION_REASON:
        s.turn_status = REQUIRES_ACTION
        emit(log, "session.status_idle", {"stop_reason": stop_reason,
                                          "event_ids": list(s.pending_actions)}, now)
        return
    s.turn_status = IDLE
    s.pending_actions = []
    waiting = log.unprocessed()
    log.mark_processed([e.id for e in waiting if e.turn_id == s.turn_id], now)
    emit(log, "session.status_idle", {"stop_reason": stop_reason}, now)
    queued = [e for e in waiting if e.type == event_rules.USER_MESSAGE and not e.turn_id]
    if queued:
        start_turn(log, [], now)
        log.assign_turn([e.id for e in queued], s.turn_id)


def archive(log: SessionLog, now: int) -> None:
    """Archives the session; a turn under way (or waiting for answers) is cancelled, and
    messages queued for later turns never run."""
    s = log.session
    if s.archived_at is not None:
        return
    if s.status != TERMINATED and (s.status != IDLE or s.turn_status != IDLE):
        stop_running(log, now)
        s.status, s.turn_status = IDLE, IDLE
        s.pending_actions = []
        emit(log, "session.status_idle", {"stop_reason": CANCELLED}, now)
    s.archived_at = s.updated_at = now


def terminate(log: SessionLog, reason: str, now: int) -> None:
    s = log.session
    stop_running(log, now)
    s.status, s.turn_status = TERMINATED, IDLE
    s.pending_actions = []
    emit(log, event_rules.SESSION_STATUS_TERMINATED, {"reason": reason}, now)


def on_client_event(log: SessionLog, event: Event, where: str, now: int) -> None:
    """Appends one client event and makes the transition it causes."""
    s = log.session
    if event.type == event_rules.USER_MESSAGE:
        if s.status == IDLE and s.turn_status == IDLE:
            log.append(event)
            start_turn(log, [event], now)
        else:
            log.append(event)  # queued: its turn starts when the current one ends
        return
    if event.type == event_rules.USER_INTERRUPT:
        if s.turn_status in (RUNNING, CANCELING):
            event.turn_id = s.turn_id
            s.turn_status = CANCELING
            log.append(event)
        elif s.turn_status == REQUIRES_ACTION:
            event.turn_id, event.processed_at = s.turn_id, now
            log.append(event)
            end_turn(log, CANCELLED, now)
        else:
            event.processed_at = now  # nothing runs: accepted, and changes nothing
            log.append(event)
        return
    if event.type == event_rules.USER_TOOL_CONFIRMATION:
        _answer(log, event, f"{where}.user_tool_confirmation.tool_use_id",
                event.payload.get("tool_use_id", ""), "agent.tool_use", now)
        return
    if event.type == event_rules.USER_CUSTOM_TOOL_RESULT:
        _answer(log, event, f"{where}.user_custom_tool_result.custom_tool_use_id",
                event.payload.get("custom_tool_use_id", ""), "agent.custom_tool_use", now)
        return
    event.turn_id = s.turn_id if s.status == RUNNING else ""
    log.append(event)


def _answer(log: SessionLog, event: Event, field: str, use_id: str, use_type: str,
            now: int) -> None:
    """A tool confirmation or custom tool result: it must answer a pending use."""
    s = log.session
    use = log.find_event(use_id)
    if use is None or use.type != use_type:
        raise InvalidArgument.one(field, f"{use_id!r} is not a {use_type} event of session "
                                         f"{s.id!r}")
    if use_id not in s.pending_actions:
        raise FailedPrecondition(f"{use_type} {use_id!r} does not wait for an answer "
                                 "(answered already, or it needs none)",
                                 "TOOL_USE_NOT_PENDING", use_id)
    s.pending_actions = [p for p in s.pending_actions if p != use_id]
    event.turn_id = s.turn_id
    log.append(event)
    if s.turn_status == REQUIRES_ACTION and not s.pending_actions:
        resume_turn(log, now)
