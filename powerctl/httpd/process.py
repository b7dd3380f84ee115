"""The process model: one process owns the app (and so the hardware); the fleet server may fork more."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable

from powerctl.httpd.limits import Limits
from powerctl.httpd.listener import Server, listen

log = logging.getLogger("powerctl.httpd")
BOOT_FAILED = 3


def serve(
    build: Callable[[], object],
    bind: str,
    *,
    limits: Limits,
    threads: int,
    tls=None,
    exempt=(),
    log_access: bool = True,
    on_exit: Callable[[object], None] | None = None,
    workers: int = 1,
) -> int:
    """Bind, then serve the app `build()` makes until SIGTERM or SIGINT; the exit status.

    The app is built after binding, in the process that serves it, and `on_exit(app)` runs
    there once its requests have finished (or `limits.graceful_timeout` has passed). With
    `workers` > 1, that many processes are forked, each with its own app, sharing the socket.
    """
    sock = listen(bind)

    def worker() -> int:
        try:
            app = build()
        except Exception:  # noqa: BLE001 - whatever stops the app from starting ends this worker
            traceback.print_exc()
            return BOOT_FAILED
        max_body = getattr(app, "config", {}).get("MAX_CONTENT_LENGTH")
        worker_limits = dataclasses.replace(limits, max_body=max_body) if max_body else limits
        server = Server(app, sock, worker_limits, threads, tls, exempt, log_access)
        log.info("listening on %s (pid %d)", bind, os.getpid())
        try:
            asyncio.run(server.run())
        finally:
            if on_exit is not None:
                on_exit(app)
        log.info("stopped (pid %d)", os.getpid())
        return 0

    if workers <= 1:
        return worker()
    return _prefork(workers, worker)


def _prefork(workers: int, worker: Callable[[], int]) -> int:
    """Fork `workers` processes running `worker`; replace one that dies; forward SIGTERM/SIGINT."""
    children: dict[int, float] = {}
    state = {"stopping": False, "status": 0}

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 1
            try:
                code = worker()
            finally:
                logging.shutdown()
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children[pid] = time.monotonic()

    def stop(_signum, _frame) -> None:
        state["stopping"] = True
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(workers):
        spawn()
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        started = children.pop(pid, None)
        if started is None or state["stopping"]:
            continue
        if os.waitstatus_to_exitcode(status) == BOOT_FAILED:
            log.error("worker %d could not start the app; stopping", pid)
            state["status"] = 1
            stop(None, None)
            continue
        log.warning("worker %d exited (status %d); starting another", pid, os.waitstatus_to_exitcode(status))
        time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
        spawn()
    return state["status"]
