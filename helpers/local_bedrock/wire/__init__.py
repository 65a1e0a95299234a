"""The wire encoders: AWS event-stream frames and server-sent events."""
