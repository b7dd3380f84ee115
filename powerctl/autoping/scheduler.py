"""One thread running one asyncio loop that checks every item when it is due.

Checks are coroutines, at most `max_concurrent_checks` at once, each bounded by ping_timeout,
so a thousand items need no thousand threads and a dead address delays no other item's check:
an item's next round is due at a fixed rate, whatever its neighbours are waiting for. What
an item does when it fires (a cycle through the relay, which talks to boards) runs in a small
pool of threads, never on the loop.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from powerctl.autoping.addresses import Address
from powerctl.autoping.checks import answered
from powerctl.autoping.items import FIRE, GIVE_UP

if TYPE_CHECKING:
    from powerctl.autoping.service import AutoPing

log = logging.getLogger("powerctl.autoping")

FLUSH_SECONDS = 2.0  # how often counters seen by checks are stored
ACTION_THREADS = 4
SPREAD = 0.6180339887  # uid * this, mod 1: first due times spread evenly whatever the uids


class Scheduler:
    """Due times in a heap of (monotonic time, seq, uid, generation); stale entries are skipped."""

    def __init__(self, service: AutoPing, max_concurrent: int):
        self._service = service
        self._bound = max_concurrent
        self._heap: list[tuple[float, int, int, int]] = []
        self._scheduled: dict[int, int] = {}  # uid -> the generation its entry is for
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._starting = threading.Lock()
        self._wanted = False
        self._until = 0.0  # when the loop wakes next by itself
        self._actions = ThreadPoolExecutor(ACTION_THREADS, thread_name_prefix="autoping-action")
        self.checks = 0  # address checks started
        self.worst_lateness = 0.0  # seconds the latest check started after it was due
        self.lateness: list[float] | None = None  # every check's, while a list (bench/autoping.py)

    def start(self) -> None:
        """Run from now on; the thread starts with the first item to watch."""
        with self._starting:
            self._wanted = True
            if self._thread is None and self._service.watched():
                self._spawn()

    def _spawn(self) -> None:
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._main(),), name="autoping", daemon=True
        )
        self._thread.start()

    def changed(self) -> None:
        """Items or settings changed: look at them again (from any thread)."""
        with self._starting:
            if self._wanted and self._thread is None:
                if self._service.watched():
                    self._spawn()
                return
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._reconcile)
            except RuntimeError:  # closed meanwhile
                pass

    def close(self) -> None:
        with self._starting:
            self._wanted = False
        loop = self._loop
        if loop is not None and self._thread is not None:
            try:
                loop.call_soon_threadsafe(self._stop)
            except RuntimeError:
                pass
            self._thread.join(10)
        self._actions.shutdown(wait=True)

    def _stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def _main(self) -> None:
        self._loop = loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        self._until = 0.0  # when the loop wakes next by itself
        self._slots = asyncio.Semaphore(self._bound)
        tasks: set[asyncio.Task] = set()
        self._reconcile()
        next_flush = loop.time() + FLUSH_SECONDS
        while not self._stopping:
            now = loop.time()
            while self._heap and self._heap[0][0] <= now:
                due, _, uid, generation = heapq.heappop(self._heap)
                if self._scheduled.get(uid) == generation:
                    task = asyncio.create_task(self._round(uid, generation, due))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
            if now >= next_flush:
                next_flush = now + FLUSH_SECONDS
                if self._service.dirty:
                    self._in_thread(self._service.flush)
            self._until = min(self._heap[0][0] if self._heap else now + 1.0, next_flush)
            self._wake.clear()
            try:
                async with asyncio.timeout(max(0.0, self._until - now)):
                    await self._wake.wait()
            except TimeoutError:
                pass
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _reconcile(self) -> None:
        """Schedule now every watched item whose entry is missing or for an older generation."""
        live = dict(self._service.watched())
        for uid in list(self._scheduled):
            if uid not in live:
                del self._scheduled[uid]
        now = self._loop.time()  # type: ignore[union-attr]
        interval = self._service.settings["ping_interval"]
        for uid, generation in live.items():
            if self._scheduled.get(uid) != generation:
                # spread over one interval, so a thousand items are not all due at once
                self._push(now + interval * (uid * SPREAD % 1.0), uid, generation)

    def _push(self, due: float, uid: int, generation: int) -> None:
        self._scheduled[uid] = generation
        heapq.heappush(self._heap, (due, next(self._seq), uid, generation))
        if due < self._until:
            self._wake.set()

    async def _round(self, uid: int, generation: int, due: float) -> None:
        loop = self._loop
        settings = self._service.settings
        try:
            plan = self._service.plan(uid, generation, time.time())
            if plan is None:
                if self._scheduled.get(uid) == generation:
                    del self._scheduled[uid]
                return
            spec, resume_at = plan
            if resume_at:
                self._push(loop.time() + max(0.0, resume_at - time.time()), uid, generation)  # type: ignore[union-attr]
                return
            timeout = settings["ping_timeout"]
            if len(spec.addresses) == 1:
                answers = [await self._check(spec.addresses[0], timeout, due)]
            else:
                checks = (self._check(address, timeout, due) for address in spec.addresses)
                answers = list(await asyncio.gather(*checks))
            outcome = self._service.record(uid, generation, answers)
            if outcome == FIRE:
                await loop.run_in_executor(self._actions, self._service.fire, uid)  # type: ignore[union-attr]
            elif outcome == GIVE_UP:
                await loop.run_in_executor(self._actions, self._service.gave_up, uid)  # type: ignore[union-attr]
        except asyncio.CancelledError:
            raise
        except Exception:  # a round must never end the watchdog: log it, and go on
            log.exception("AutoPing round of item uid %s failed", uid)
        if self._scheduled.get(uid) == generation:
            now = loop.time()  # type: ignore[union-attr]
            self._push(max(due + settings["ping_interval"], now), uid, generation)

    async def _check(self, address: Address, timeout: float, due: float) -> bool:
        async with self._slots:
            late = self._loop.time() - due  # type: ignore[union-attr]
            if late > self.worst_lateness:
                self.worst_lateness = late
            if self.lateness is not None:
                self.lateness.append(late)
            self.checks += 1
            return await answered(address, timeout)

    def _in_thread(self, work) -> None:
        future = self._loop.run_in_executor(self._actions, work)  # type: ignore[union-attr]
        future.add_done_callback(_log_failure)


def _log_failure(future: asyncio.Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("AutoPing could not store its counters: %s", future.exception())
