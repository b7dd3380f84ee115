"""The script runner: user functions played on the outlets in a bounded set of threads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import hw
import scopes
from powerctl.audit import Audit
from powerctl.auth.principal import Principal
from powerctl.domain import (
    BadArguments,
    NoSuchThread,
    PowerctlError,
    ShuttingDown,
    ThreadLimit,
    UnknownFunction,
)
from powerctl.relay import Actor, Relay
from powerctl.scripts import binding, steps
from powerctl.scripts.functions import Function, FunctionError, where
from powerctl.store import Database

JOIN_SECONDS = 5.0  # a stopped thread ends within one hardware call, each bounded by its board


def owner_of(principal: Principal) -> str | None:
    """Whose threads a caller's are: its client id or session name; None for admins."""
    return None if principal.is_admin else principal.client or principal.name


@dataclass(eq=False)
class ScriptThread:
    """One running function: who started it, where it is, and the event that stops it."""

    id: str
    function: str
    args: tuple[int, ...]
    owner: str | None  # see owner_of
    who: str
    actor: str
    stop: threading.Event = field(default_factory=threading.Event)
    stopped_by: str = ""
    step: str = ""
    at: str = ""
    thread: threading.Thread | None = None

    @property
    def call(self) -> str:
        """The function with its arguments, as the audit shows it: `cycle_an_outlet(2,5)`."""
        return f"{self.function}({','.join(map(str, self.args))})" if self.args else self.function

    @property
    def label(self) -> str:
        """As DLI labels threads, `name (who via origin)`, then the step running now."""
        return f"{self.function} ({self.who} via rest) {self.step}".rstrip()


NEXT_ID = "scripts.next_thread_id"


class Runner:
    """Starts, lists and stops script threads; at most `max_threads` run at once."""

    def __init__(
        self, relay: Relay, audit: Audit, functions: Mapping[str, Function], max_threads: int, db: Database
    ):
        self.functions = dict(functions)
        self.max_threads = max_threads
        self._relay = relay
        self._audit = audit
        self._db = db
        self._lock = threading.Lock()
        self._threads: dict[str, ScriptThread] = {}
        # Thread ids go on across restarts: an id a client kept never names a later thread.
        self._next_id = int(db.get_setting(NEXT_ID, 1))
        self._closed = False

    def start(self, name: str, args: Sequence[int], principal: Principal) -> str:
        """Check the call, then run it in a new thread; returns the thread id."""
        function = self.functions.get(name)
        if function is None:
            raise UnknownFunction(name)
        if len(args) != len(function.args):
            raise BadArguments(
                f'"{name}" takes {len(function.args)} arguments'
                f" ({', '.join(function.args) or 'none'}), not {len(args)}"
            )
        try:
            binding.check(self.functions, name, tuple(args), self._relay.count)
        except FunctionError as err:
            raise BadArguments(f"cannot start {name}({','.join(map(str, args))}): {err}") from None
        with self._lock:
            if self._closed:
                raise ShuttingDown("the gateway is shutting down")
            if len(self._threads) >= self.max_threads:
                raise ThreadLimit(
                    f"{len(self._threads)} script threads are running,"
                    " as many as [scripts] max_threads allows"
                )
            ident = str(self._next_id)
            self._db.set_setting(NEXT_ID, self._next_id + 1)  # stored first: never handed out twice
            self._next_id += 1
            script = ScriptThread(
                ident,
                name,
                tuple(args),
                owner_of(principal),
                principal.client or principal.name,
                principal.actor(),
            )
            self._audit.record(f"Script {script.call} started as thread {ident} by {principal.actor()}")
            script.thread = threading.Thread(
                target=self._run, args=(script, function), name=f"script-{ident}", daemon=True
            )
            self._threads[ident] = script
            script.thread.start()
        return ident

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._threads)

    def thread(self, ident: str) -> ScriptThread | None:
        with self._lock:
            return self._threads.get(ident)

    def visible(self, principal: Principal, others: Callable[[str], bool]) -> list[ScriptThread]:
        """The running threads this caller may see: its own, and others' whose ids pass `others`."""
        owner = owner_of(principal)
        with self._lock:
            return [
                script
                for script in self._threads.values()
                if (owner is not None and script.owner == owner) or others(script.id)
            ]

    def stop(self, which: Sequence[str], principal: Principal, others: Callable[[str], bool]) -> list[str]:
        """Stop "all" visible threads or the listed ones (all listed must be visible)."""
        mine = {script.id: script for script in self.visible(principal, others)}
        if list(which) == ["all"]:
            chosen = list(mine.values())
        else:
            missing = [ident for ident in which if ident not in mine]
            if missing:
                whose = "" if principal.is_admin else " that you started or a scope lets you see"
                raise NoSuchThread(f'no script thread "{missing[0]}"{whose} is running')
            chosen = [mine[ident] for ident in dict.fromkeys(which)]
        for script in chosen:
            script.stopped_by = script.stopped_by or principal.actor()
            script.stop.set()
        for script in chosen:
            script.thread.join(JOIN_SECONDS)  # type: ignore[union-attr]
        return [script.id for script in chosen]

    def close(self) -> None:
        """Stop every thread and wait for each to end (shutdown)."""
        with self._lock:
            self._closed = True
            running = list(self._threads.values())
        for script in running:
            script.stopped_by = script.stopped_by or "shutdown"
            script.stop.set()
        for script in running:
            script.thread.join(JOIN_SECONDS)  # type: ignore[union-attr]

    def _run(self, script: ScriptThread, function: Function) -> None:
        outcome = "ended by an unexpected error (see the server log)"
        try:
            self._play(script, function, dict(zip(function.args, script.args, strict=True)), "")
            outcome = f"stopped by {script.stopped_by}" if script.stop.is_set() else "finished"
        except (PowerctlError, hw.HardwareError, scopes.ScopeError) as err:
            outcome = f"stopped at {script.at} ({script.step}): {err}"
        finally:
            with self._lock:
                self._threads.pop(script.id, None)
            self._audit.record(f"Script thread {script.id} ({script.call}) {outcome}")

    def _play(self, script: ScriptThread, function: Function, bound: dict[str, int], trail: str) -> None:
        for number, step in enumerate(function.steps, start=1):
            if script.stop.is_set():
                return
            script.at = where(function.name, number) + trail
            script.step = step.describe(bound)
            if step.action == "sleep":
                if script.stop.wait(binding.value(step.seconds, bound)):  # type: ignore[arg-type]
                    return
            elif step.action == "call":
                callee = self.functions[step.function]
                values = [binding.value(arg, bound) for arg in step.args]
                self._play(
                    script,
                    callee,
                    dict(zip(callee.args, values, strict=True)),  # type: ignore[arg-type]
                    f" (called from {script.at})",
                )
            else:
                steps.switch(
                    self._relay,
                    step,
                    steps.outlets(self._relay, step, bound),
                    Actor(
                        f"script {script.function} (thread {script.id}) for {script.actor}",
                        script.who,
                        "script",
                    ),
                )
