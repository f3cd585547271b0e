"""Fan-out of new events to open streams."""
