"""An item's spec (what it watches and does) and state (what it has seen), and how checks move it.

Statuses: `disabled` (off, by its `enabled` or autoping/enabled), `waiting` (counting answers
before it arms), `armed`, `failing` (some checks in a row unanswered), `rebooting` (its outlets
were cycled or its function started; it waits post_reboot_delay), `giving up` (a limit was
reached: it disabled itself, and `reason` says why).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from powerctl.autoping.addresses import Address, parse_address

DISABLED, WAITING, ARMED, FAILING, REBOOTING, GIVING_UP = (
    "disabled",
    "waiting",
    "armed",
    "failing",
    "rebooting",
    "giving up",
)
WATCHING = (WAITING, ARMED, FAILING)
ARMED_ON_RESTART = (ARMED, FAILING, REBOOTING)  # these start waiting again after a restart


@dataclass(frozen=True, slots=True)
class Spec:
    addresses: tuple[Address, ...]
    outlets: tuple[int, ...]
    enabled: bool = True
    pings_before_enabling: int | None = None  # None: autoping/pings_before_enabling
    script: str = ""
    resumption_trial: bool = False

    @classmethod
    def from_json(cls, value: dict) -> Spec:
        return cls(
            tuple(parse_address(text) for text in value["addresses"]),
            tuple(value["outlets"]),
            value["enabled"],
            value["pings_before_enabling"],
            value["script"],
            value["resumption_trial"],
        )

    def as_json(self) -> dict:
        return {
            "addresses": [address.text for address in self.addresses],
            "outlets": list(self.outlets),
            "enabled": self.enabled,
            "pings_before_enabling": self.pings_before_enabling,
            "script": self.script,
            "resumption_trial": self.resumption_trial,
        }

    def watches_as(self, other: Spec) -> bool:
        """Whether a replacement watches and acts the same way (only flags changed)."""
        return (self.addresses, self.outlets, self.script) == (other.addresses, other.outlets, other.script)


@dataclass(slots=True)
class State:
    status: str = WAITING
    progress: int = 0  # answers counted while waiting
    failures: int = 0  # checks unanswered in a row while armed
    consecutive: int = 0  # reboots since the last answer
    tx: int = 0  # pings (checks of one address) sent
    rx: int = 0  # answered
    hits: int = 0  # reboots
    reason: str = ""  # why it gave up
    resume_at: float = 0.0  # wall-clock time a rebooting item checks again

    @classmethod
    def from_json(cls, value: dict) -> State:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: item for key, item in value.items() if key in names})

    def as_json(self) -> dict:
        return dataclasses.asdict(self)

    def restarted(self) -> None:
        """After a gateway restart: the outlets were just powered up, so nothing armed stays armed."""
        if self.status in ARMED_ON_RESTART:
            self.status, self.progress, self.failures = WAITING, 0, 0


@dataclass(eq=False, slots=True)
class Item:
    uid: int
    spec: Spec
    state: State = field(default_factory=State)
    generation: int = 0  # bumped by every change of spec or status from outside the checks

    def wait_again(self) -> None:
        self.state.status, self.state.progress, self.state.failures = WAITING, 0, 0
        self.state.reason = ""
        self.generation += 1


FIRE, ARM, GIVE_UP = "fire", "arm", "give up"


def observe(item: Item, answers: list[bool], settings: dict) -> str | None:
    """Count one round of checks (one answer per address) and say what follows, if anything.

    An item with several addresses has failed only when none of them answered (DLI's group rule).
    """
    state = item.state
    state.tx += len(answers)
    state.rx += sum(answers)
    alive = any(answers)
    if alive:
        state.consecutive = 0
    if state.status == WAITING:
        need = item.spec.pings_before_enabling
        state.progress += alive
        if state.progress < (settings["pings_before_enabling"] if need is None else need):
            return None
        state.status, state.failures = ARMED, 0
        if alive:
            return ARM
        # 0 answers needed: armed from the first round, which counts as its first failure
    if state.status not in (ARMED, FAILING):
        return None
    if alive:
        state.status, state.failures = ARMED, 0
        return None
    state.failures += 1
    state.status = FAILING
    if state.failures < settings["failures_before_reboot"]:
        return None
    state.failures = 0
    reason = limit_reached(state, settings)
    if reason:
        state.status, state.reason = GIVING_UP, reason
        return GIVE_UP
    state.status = REBOOTING
    return FIRE


def limit_reached(state: State, settings: dict) -> str:
    """Why another reboot is not allowed, or ""."""
    most = settings["max_consecutive_reboot_count"]
    if most and state.consecutive >= most:
        return f"max_consecutive_reboot_count reached: {state.consecutive} reboots without an answer"
    most = settings["max_reboot_count"]
    if most and state.hits >= most:
        return f"max_reboot_count reached: {state.hits} reboots since the statistics were reset"
    return ""


def resume(item: Item) -> None:
    """post_reboot_delay is over: watch again, armed or (resumption_trial) waiting to arm."""
    if item.spec.resumption_trial:
        item.state.status, item.state.progress = WAITING, 0
    else:
        item.state.status = ARMED
    item.state.failures = 0
