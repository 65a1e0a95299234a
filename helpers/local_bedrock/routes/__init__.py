"""The routes, one module per API: ``/model/{modelId}/...`` (invoke: InvokeModel and its stream, with Converse and
ConverseStream through converse*, and count_tokens), the Messages API over SSE (messages_api) and the ``/_local/``
controls (control). base holds what they all use from the app, so no route imports the server."""
