"""The embedded default's cron: a daemon thread that runs the sweep every few minutes.

``sitewright run`` starts it once in its one worker process (``SITEWRIGHT_SWEEP_MINUTES``, 0 turns
it off); deployments with several processes run ``sitewright sweep`` from cron instead.
"""

from __future__ import annotations

import atexit
import logging
import threading

from app.services import Deps
from app.services.sweep import SweepReport, sweep

log = logging.getLogger(__name__)


class SweepTimer:
    """Runs the sweep every few minutes on a daemon thread: the embedded default's cron."""

    def __init__(self, deps: Deps, every_s: float) -> None:
        self._deps, self.every_s = deps, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sitewright-sweep", daemon=True)
        self.sweeps = 0  # sweeps run, failed ones included

    def start(self) -> None:
        """Start sweeping, the first time one interval from now; stop at exit."""
        self._thread.start()
        atexit.register(self.stop)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the site being swept, and wait for the thread to end."""
        self._stop.set()
        atexit.unregister(self.stop)
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        """Say whether the thread is alive."""
        return self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.run_once()

    def run_once(self) -> SweepReport | None:
        """Run one sweep and log what it did; an error is logged, never raised."""
        try:
            report = sweep(self._deps, stop=self._stop)
        except Exception:
            log.exception("sweep: failed; trying again in %.0f seconds", self.every_s)
            return None
        finally:
            self.sweeps += 1
        level = logging.INFO if report.acted else logging.DEBUG
        for line in report.lines():
            log.log(level, "sweep: %s", line)
        return report


def start_timer(deps: Deps) -> SweepTimer | None:
    """Start sweeping every SWEEP_MINUTES in this process; None when it is 0 (off)."""
    minutes = float(deps.settings.get("SWEEP_MINUTES") or 0)
    if minutes <= 0:
        return None
    timer = SweepTimer(deps, minutes * 60)
    timer.start()
    log.info("sweep: every %g minutes in this process", minutes)
    return timer
