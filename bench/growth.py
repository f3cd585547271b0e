"""Growth: read latencies with a small and with a large stored history, as a ratio."""

from __future__ import annotations

import time

from sqlalchemy import create_engine, insert

from server.domain import ids
from server.domain.clock import now_us
from server.domain.models import Agent, Event, Session
from server.store import rows, tables
from server.store.migrate import upgrade

CHUNK = 20_000


def seed(database_url: str, events: int, sessions: int) -> str:
    """Fills a migrated, empty database: `sessions` sessions, one of which (returned) holds
    `events` events. Written straight to the tables: the bench is about reading them."""
    upgrade(database_url)
    engine = create_engine(database_url)
    ws = ids.DEFAULT_WORKSPACE
    now = now_us()
    agent = Agent(id=ids.new_id(ids.AGENT), version=1, name="bench", model="m",
                  created_at=now, updated_at=now)
    env_id = ids.new_id(ids.ENVIRONMENT)
    with engine.begin() as conn:
        conn.execute(insert(tables.agents).values(
            id=agent.id, workspace_id=ws, latest_version=1, created_at=now, updated_at=now))
        conn.execute(insert(tables.agent_versions).values(
            agent_id=agent.id, version=1, workspace_id=ws, body=rows.agent_body(agent),
            created_at=now))
        big = ""
        for start in range(0, sessions, CHUNK):
            batch = []
            for i in range(start, min(sessions, start + CHUNK)):
                session = Session(id=ids.new_id(ids.SESSION), agent=agent,
                                  environment_id=env_id, created_at=now + i, updated_at=now + i,
                                  last_sequence=events if i == 0 else 0)
                big = big or session.id
                batch.append(rows.session_values(session, ws))
            conn.execute(insert(tables.sessions), batch)
        for start in range(0, events, CHUNK):
            conn.execute(insert(tables.events), [rows.event_values(Event(
                id=ids.new_id(ids.EVENT), type="user.message", session_id=big,
                payload={"content": [{"type": "text", "text": f"event {seq}"}]},
                sequence=seq, created_at=now, processed_at=now), ws)
                for seq in range(start + 1, min(events, start + CHUNK) + 1)])
    if engine.dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load; without it the planner guesses.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return big


def timings(call: object, request: object, calls: int) -> list[float]:
    """The latencies in ms of `calls` sequential calls."""
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        call(request, timeout=30)  # type: ignore[operator]
        samples.append((time.perf_counter() - start) * 1000)
    return samples
