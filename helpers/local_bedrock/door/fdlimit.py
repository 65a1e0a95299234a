"""Room for a room's sockets: the open-files soft limit is raised at start-up where the system allows it.

With macOS's default soft limit of 256 and a few hundred idle sockets, a new connection waited for a free
descriptor and a normal call took seconds (issue 23). The soft limit may be raised up to the hard limit
without privileges (POSIX setrlimit); macOS refuses values above kern.maxfilesperproc even when the hard
limit says "unlimited", so the request is capped at WANTED.
"""

from __future__ import annotations

# Enough descriptors for a room of a thousand streams with room to spare.
WANTED = 16_384


def raise_open_files_limit() -> str | None:
    """Raise the soft limit toward WANTED; a sentence for the banner when it stays below that, else None."""
    try:
        import resource
    except ImportError:  # Windows has no such limit to raise
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = WANTED if hard == resource.RLIM_INFINITY else min(WANTED, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < WANTED:
        return (f"note: this process may open only {soft} files and sockets (the system's limit), so a "
                f"room of more than about {max(soft - 50, 0)} connections will wait; raise it with "
                f"`ulimit -n {WANTED}` before starting the endpoint.")
    return None
