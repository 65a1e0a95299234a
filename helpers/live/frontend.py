"""Is there a frontend that will actually draw a widget?

A kernel cannot ask its frontend whether it renders widgets, and papermill and nbval
run a real ipykernel exactly like JupyterLab does, so "am I in a kernel" is not the
question. What differs is *who started the kernel*:

* JupyterLab, Notebook 7 and Voila start kernels through jupyter_server, which puts
  ``JPY_SESSION_NAME`` (the notebook's path) into the kernel's environment;
* VS Code sets ``VSCODE_PID`` and ``__vsc_ipynb_file__``; Colab has ``google.colab``;
* papermill, nbclient and nbval launch kernels with jupyter_client directly and set
  none of these, and plain Python has no kernel at all.

So ``live=None`` (auto) means: a kernel is running *and* one of those widget-drawing
frontends started it. Being wrong costs little either way: a missed frontend gets the
static rendering (still correct, just not animated); a false positive draws a widget
that is replaced by the same static rendering when the stream ends. The environment
variable ``BEDROCK_COURSE_LIVE`` (``1``/``0``) overrides the guess, e.g. to force the
static path when papermill is itself started from inside JupyterLab.
"""

from __future__ import annotations

import os
import sys

__all__ = ["in_kernel", "widgets_frontend", "OVERRIDE_ENV"]

OVERRIDE_ENV = "BEDROCK_COURSE_LIVE"


def _shell():  # -> IPython shell or None, without importing IPython when absent
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()


def in_kernel() -> bool:
    """True inside a Jupyter kernel (not plain Python, not terminal IPython)."""
    shell = _shell()
    return shell is not None and getattr(shell, "kernel", None) is not None


def widgets_frontend() -> bool:
    """Best guess whether widgets displayed now will be drawn (see the module docstring)."""
    override = os.environ.get(OVERRIDE_ENV, "").strip().lower()
    if override in {"1", "true", "yes", "on"}:
        return True
    if override in {"0", "false", "no", "off"}:
        return False
    if override:
        raise ValueError(f"{OVERRIDE_ENV}={override!r} is not understood; set it to 1 (live widget) or 0 (static)")
    if not in_kernel():
        return False
    if os.environ.get("JPY_SESSION_NAME") or os.environ.get("VSCODE_PID") or "google.colab" in sys.modules:
        return True
    shell = _shell()
    return "__vsc_ipynb_file__" in getattr(shell, "user_ns", {})
