"""The closed loop: the state machine and its actions, the event log and live stream, deadlines,
whistles (吹哨报到), 回访 and the incident views."""
