"""What every request passes at the door: credentials (auth, SigV4), the connection's limits, the body's reading
and the watch for a client that hangs up."""
