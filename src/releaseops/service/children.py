"""A child process whose life ends with ours: Linux's parent-death signal.

The rehearsal's cluster and service, and the previous release that PREVIOUS_RELEASE_COMMAND
starts for the drill, are children that must not outlive a check run killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: signal.Signals) -> Callable[[], None] | None:
    """A preexec_fn after which the child gets `sig` when this process dies (even by SIGKILL).

    Linux sends the parent-death signal when the *thread* that forked the child ends, not the
    process: a child forked from a worker thread would be stopped as soon as that thread
    finishes. So the signal is armed only for children forked from the main thread; others
    get None (no signal), and the run's ownership record (rehearsal.reaper) is what lets the
    next run stop them should this one be killed.
    """
    if threading.current_thread() is not threading.main_thread():
        log.info("child started off the main thread: no parent-death signal, the reaper covers it")
        return None
    parent = os.getpid()

    def arm() -> None:
        # Runs in the child after any uid switch (a credential change clears the setting).
        signal.signal(sig, signal.SIG_DFL)  # an inherited SIG_IGN would swallow it
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig))
        if os.getppid() != parent:  # the parent died before the signal was armed
            os.kill(os.getpid(), sig)

    return arm
