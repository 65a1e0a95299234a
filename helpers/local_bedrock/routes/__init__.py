"""The routes, one module per API: Converse/ConverseStream (with its shape check and the legacy Text Completions
answer) and the Messages API over SSE."""
