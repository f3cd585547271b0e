"""The managed agents sessions service: sessions, their event log, agents, environments."""
