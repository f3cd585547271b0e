"""The managed agents sessions service: sessions, their event log, agents and environments over gRPC."""
