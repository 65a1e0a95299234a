"""What a user steers the endpoint with: injected faults, the call log, record/replay cassettes and the upstream
passthrough."""
