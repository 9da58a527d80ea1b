"""The loop over HTTP: incidents, actions, the live stream, notifications, print."""
