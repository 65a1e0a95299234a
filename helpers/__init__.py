"""Helpers for the Bedrock streaming course.

Kept import-light on purpose: ``import helpers.payloads`` must not start a
server or pull in widgets, and ``helpers.local_bedrock`` (a server) must be
importable without any client-side module.
"""

__all__: list[str] = []
