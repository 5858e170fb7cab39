"""Progress of the long commands, reported the same way by all of them: a named step, its count, the time left.

A command opens steps (`with step("training", total=5, unit="folds") as s: ... s.update()`), which nest (a fold's
boosting rounds inside the folds). The CLI chooses how they show (`session`): on a terminal a tqdm bar per step;
in a log, under CI or a test's capture, plain lines (a step's start and end, and a status line at most every
INTERVAL seconds, so a 25-minute training writes a few hundred lines, not thousands); or nothing. Outside a
session (the API, a library call, a test calling a function) every step is silent. Everything goes to stderr:
stdout carries the results some commands print as JSON or CSV. Only step names and counts are written, never a
client's data.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

MODES = ("auto", "bar", "lines", "off")
INTERVAL = 5.0  # seconds between two status lines in the line mode

_state: dict = {"mode": "off", "interval": INTERVAL, "clock": time.monotonic, "last": 0.0}
_stack: list[Step] = []


def resolve(mode: str, stream=None) -> str:
    """`auto` -> `bar` on a terminal, else `lines`; the other modes as they are."""
    mode = mode.lower()
    if mode not in MODES:
        raise ValueError(f"progress mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode != "auto":
        return mode
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return "bar" if isatty is not None and isatty() else "lines"


@contextmanager
def session(mode: str, *, interval: float = INTERVAL, clock: Callable[[], float] = time.monotonic) -> Iterator[str]:
    """Steps opened inside show in `mode` (auto, bar, lines, off); the previous way is restored after."""
    saved = dict(_state)
    _state.update(mode=resolve(mode), interval=interval, clock=clock, last=clock())
    try:
        yield _state["mode"]
    finally:
        _state.clear()
        _state.update(saved)


def _count(n: float) -> str:
    return f"{int(n):,}" if float(n).is_integer() else f"{n:,.1f}"


class Step:
    """One named step with a count of units done out of a total when known; shown as the session says."""

    def __init__(self, name: str, total: float | None, unit: str):
        self.name, self.total, self.unit, self.done = name, total, unit, 0
        self.mode, self.clock = _state["mode"], _state["clock"]
        self.started = self.clock()
        self.depth = len(_stack)
        self.bar = None
        if self.mode == "bar":
            self.bar = tqdm(
                total=total,
                desc=name,
                unit=f" {unit}" if unit else "it",
                file=sys.stderr,
                position=self.depth,
                leave=self.depth == 0,
                dynamic_ncols=True,
                bar_format=None if unit or total else "{desc} [{elapsed}]",
            )
        elif self.mode == "lines" and self.depth == 0:
            _write(f"{name}: started" + (f" ({_count(total)} {unit})" if total else ""))

    def update(self, n: float = 1) -> None:
        """`n` more units done; in the line mode a status line of every open step when INTERVAL has passed."""
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.mode == "lines":
            now = self.clock()
            if now - _state["last"] >= _state["interval"]:
                _write(" | ".join(s.status(now) for s in _stack))

    def status(self, now: float) -> str:
        """`name: done/total unit, elapsed, ~left` (the time left from this step's own rate)."""
        elapsed = now - self.started
        text = f"{self.name}: {_count(self.done)}"
        if self.total:
            text += f"/{_count(self.total)}"
        text += f" {self.unit}".rstrip() + f", {tqdm.format_interval(elapsed)} elapsed"
        if self.total and 0 < self.done < self.total:
            text += f", ~{tqdm.format_interval(elapsed * (self.total - self.done) / self.done)} left"
        return text

    def close(self, ok: bool) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.mode == "lines" and self.depth == 0 and ok:
            elapsed = tqdm.format_interval(self.clock() - self.started)
            counted = f", {_count(self.done)} {self.unit}" if self.unit else ""
            _write(f"{self.name}: done{counted} in {elapsed}")


def _write(line: str) -> None:
    _state["last"] = _state["clock"]()
    print(line, file=sys.stderr, flush=True)


@contextmanager
def step(name: str, total: float | None = None, unit: str = "") -> Iterator[Step]:
    """A named step of a long command; `update(n)` on the yielded Step as units (rows, folds, chunks) get done."""
    current = Step(name, total, unit)
    _stack.append(current)
    ok = False
    try:
        yield current
        ok = True
    finally:
        _stack.remove(current)
        current.close(ok)


def lightgbm_callback(current: Step) -> Callable:
    """A LightGBM training callback counting boosting rounds into `current` (no total of its own: under early
    stopping the round limit is not what will be run)."""

    def callback(env) -> None:
        current.update(1)

    callback.order = 25  # before early stopping (30), which ends training by raising: every round run is counted
    return callback
