"""The course's one launcher: ``python -m helpers.course lab|test|endpoint|dry-run|site|lock|wheelhouse``.

The same commands on Windows, macOS and Linux, with nothing but Python 3.11+; the Makefile calls them
too, so there is one copy of how the course installs and starts. ``environment`` (standard library
only, it runs before any virtual environment exists) installs the locked set with uv; ``site`` builds the
lessons into a static site and runs inside the course's environment.
"""

__all__: list[str] = []
