"""Training in a process of its own, so that the window never competes with it.

In one process, the window's drawing (pyqtgraph paints in Python) and the training loop
(many small numpy operations) take turns on Python's global interpreter lock: measured,
training in the window ran at 0.34–0.53× its headless speed, whatever the frame budget.
Here the numpy engine's runs (the single neuron, the linear model, the MLP) go to a
child process, which holds a :class:`~biasviz.core.train_loop.TrainerCore` and no torch
(it starts in ~0.2 s and stays small: numpy and a copy of the task's images).

The parent keeps the :class:`~biasviz.core.training.Trainer`; for each run it sends
the trainer's state (:meth:`~biasviz.core.train_loop.TrainerCore.engine_state`), and
gets it back when the run pauses and when it ends, so between runs everything (sessions,
rewinding, "Step epoch" labels) reads the parent's trainer as before.  The batch order
is still drawn with torch's generator in the parent and sent ahead
(:class:`~biasviz.core.training.TorchOrder` rewinds the draws a run did not use), so a
run's batches, losses and parameters are those of the same run in one process.

Messages are pickled over two one-way pipes between this program's own two processes
(nothing is ever unpickled from a file).  The child reports in batches: the events since
the last report, the timeline snapshots it recorded (at
:class:`~biasviz.core.train_loop.RecordingPace`), and the newest snapshot, at most
``REPORT_INTERVAL`` apart, at once for a pause or the end.  The pipe itself is the
backpressure: a parent that reads slowly makes the child wait.

Commands (pause, resume, stop, steps, slow motion, parameter edits) go through
:class:`RemoteControl`, which has :class:`~biasviz.core.train_loop.TrainingControl`'s
methods.  Qt-free: the window's session drives this from its runner thread.
"""

from __future__ import annotations

import atexit
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, Pipe
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any

import numpy as np

from biasviz.core import shared_images
from biasviz.core.engine_numpy import named_views
from biasviz.core.errors import BiasvizError
from biasviz.core.spec import Snapshot, total_parameters
from biasviz.core.train_loop import (
    EpochMetrics,
    Paused,
    RecordingPace,
    StepMetrics,
    TrainerCore,
    TrainingControl,
    TrainingEnded,
)

REPORT_INTERVAL = 1 / 30  # seconds between the child's reports while it trains
SEND_AHEAD = 4  # messages the child's sender thread may hold before the training waits
# Timeline snapshots sent per second at most (the timeline keeps 64 MB in all: at this
# rate, recording runs at full density for a few seconds and then thins anyway).
RECORD_BYTES_PER_SECOND = 24 * 2**20
MAX_PENDING_BYTES = 8 * 2**20  # ...or sooner, once its recorded snapshots reach this
# Batch orders sent ahead of the training using them: a few epochs' worth is plenty (an
# epoch of 60,000 images takes ≥ 0.3 s; drawing its order ~2 ms), and the child holds them
# (8 MB was 34 orders of 60,000 images queued in the child).
ORDER_AHEAD_BYTES = 2 * 2**20


def orders_ahead(n_train: int) -> int:
    """How many batch orders of ``n_train`` images are drawn ahead of the training."""
    return max(2, ORDER_AHEAD_BYTES // (4 * max(1, int(n_train))))
START_TIMEOUT = 30.0  # seconds for the child to say it is ready

_DATA_ARRAYS = ("train_x", "train_y", "valid_x", "valid_y")
DATA_CHUNK = 2**20  # bytes of images per message

#: Set to "0" to train in the window's own process (a thread), as before.
ENV_SWITCH = "BIASVIZ_TRAIN_PROCESS"
#: A file path: the child appends a JSON line about its memory at each stage (ready, data
#: received, run started, run ended) and traces its Python allocations (tracemalloc,
#: which slows it down): for benchmarks/bench_memory.py, never set by the app.
ENV_MEMLOG = "BIASVIZ_TRAIN_MEMLOG"


class TrainingProcessError(BiasvizError):
    """The training process failed or could not start."""


class TrainingProcessStartError(TrainingProcessError):
    """The training process could not be started (the window then trains in a thread)."""


def wanted() -> bool:
    """Should the window train in a process of its own?"""
    return os.environ.get(ENV_SWITCH, "1") != "0"


# Children not yet ended: ended at exit whatever happens.
_children: set[subprocess.Popen] = set()


def _end_child(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        try:
            proc.wait(2.0)
        except subprocess.TimeoutExpired:  # pragma: no cover - a kill is not refused
            pass
    _children.discard(proc)


@atexit.register
def _end_children() -> None:
    for proc in list(_children):
        _end_child(proc)


def live_children() -> int:
    """How many training processes are running (for tests)."""
    return sum(1 for proc in _children if proc.poll() is None)


# -- the parent's side ----------------------------------------------------------------------
@dataclass
class Report:
    """What the child did since its last report."""

    events: list  # StepMetrics / EpochMetrics / Paused / TrainingEnded, in order
    recorded: dict[int, Snapshot]  # step → the timeline's snapshot of that step
    snapshot: Snapshot | None  # the newest parameters
    orders_used: int = 0
    seq: int = 0  # the last command the child had applied
    state: dict | None = None  # the trainer's state, with a pause or the end
    # The child's recorded snapshots already stacked (RecordedStack.packed), sent in the
    # place of ``recorded``: the parent gets them as ``recorded``.
    packed: list[tuple] | None = None

    # Through the pipe the recorded snapshots go as one array per parameter: pickling
    # each snapshot (its spec, its dict, its small arrays) was ~12 µs, and the chapter's
    # neuron records every step: 7 % of its run in the child went to pickling.
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        packed = state.pop("packed")
        state["recorded"] = packed if packed is not None else _pack_snapshots(self.recorded)
        return state

    def __setstate__(self, state: dict) -> None:
        state["recorded"] = _unpack_snapshots(state["recorded"])
        state["packed"] = None
        self.__dict__.update(state)


def _pack_snapshots(recorded: dict[int, Snapshot]) -> list[tuple]:
    """Snapshots of one kind (spec, parameter names and shapes, with or without the last
    update) stacked: [(spec, steps, epochs, {name: (k, …)}, {name: (k, …)} | None)]."""
    groups: dict[tuple, list[Snapshot]] = {}
    for snap in recorded.values():
        key = (snap.spec, tuple((n, a.shape, a.dtype.str) for n, a in snap.params.items()),
               None if snap.last_update is None
               else tuple((n, a.shape, a.dtype.str) for n, a in snap.last_update.items()))
        groups.setdefault(key, []).append(snap)
    packed = []
    for (spec, _shapes, update_shapes), snaps in groups.items():
        params = {n: np.stack([s.params[n] for s in snaps]) for n in snaps[0].params}
        updates = (None if update_shapes is None else
                   {n: np.stack([s.last_update[n] for s in snaps])  # type: ignore[index]
                    for n in snaps[0].last_update or {}})
        packed.append((spec, [s.step for s in snaps], [s.epoch for s in snaps], params,
                       updates))
    return packed


class RecordedStack:
    """The steps the child records for the timeline, stacked as they are taken: each
    recording copies the trainer's parameters (and its last update) into the next row of
    two arrays kept from one report to the next, and a report sends the rows in
    :func:`_pack_snapshots`' form.  A :class:`~biasviz.core.spec.Snapshot` of its own per
    recording (its dict, its small arrays, then stacked to be sent) made the chapter's
    neuron train ~15 % slower in the child, recording every 8th step (what
    :class:`~biasviz.core.train_loop.RecordingPace` charged it was ~8 %: the rest went in
    allocating and freeing); the rows cost ~1 %."""

    def __init__(self, spec: Any, capacity: int = 256) -> None:
        self.spec = spec
        self.shapes = spec.param_shapes()
        size = total_parameters(spec)
        self._params = np.empty((capacity, size), np.float32)
        self._updates = np.empty((capacity, size), np.float32)
        self._has_update = np.empty(capacity, bool)
        self.steps: list[int] = []
        self._epochs: list[int] = []
        self.row_bytes = 2 * size * 4  # what one recording adds to a report

    def __len__(self) -> int:
        return len(self.steps)

    def take(self, trainer: Any) -> None:
        """Record the trainer's step (a :class:`~biasviz.core.train_loop.TrainerCore`)."""
        k = len(self.steps)
        if k == len(self._params):  # a longer report than any before: room for twice
            grow = ((0, k), (0, 0))
            self._params = np.pad(self._params, grow)
            self._updates = np.pad(self._updates, grow)
            self._has_update = np.pad(self._has_update, (0, k))
        self._has_update[k] = trainer.copy_into(self._params[k], self._updates[k])
        self.steps.append(trainer.step)
        self._epochs.append(trainer.epoch)

    def packed(self) -> list[tuple]:
        """The rows taken since :meth:`clear`, as :func:`_pack_snapshots` gives them
        (views of this stack's arrays: send them before the next :meth:`take`)."""
        k = len(self.steps)
        if not k:
            return []
        with_update = self._has_update[:k]
        if with_update.all():
            return [(self.spec, list(self.steps), list(self._epochs),
                     named_views(self._params[:k], self.shapes),
                     named_views(self._updates[:k], self.shapes))]
        groups = []  # rows without a last update (after an edit): a group of their own
        for has in (True, False):
            rows = np.flatnonzero(with_update == has)
            if len(rows):
                groups.append((self.spec, [self.steps[i] for i in rows],
                               [self._epochs[i] for i in rows],
                               named_views(self._params[rows], self.shapes),
                               named_views(self._updates[rows], self.shapes) if has else None))
        return groups

    def clear(self) -> None:
        self.steps.clear()
        self._epochs.clear()


def _unpack_snapshots(packed: list[tuple]) -> dict[int, Snapshot]:
    """The snapshots again, each with arrays of its own (a view would keep its whole
    stack alive in the timeline, which thins snapshots to a memory budget)."""
    recorded: dict[int, Snapshot] = {}
    for spec, steps, epochs, params, updates in packed:
        for i, (step, epoch) in enumerate(zip(steps, epochs, strict=True)):
            recorded[step] = Snapshot(
                spec, {n: a[i].copy() for n, a in params.items()}, step, epoch,
                None if updates is None else {n: a[i].copy() for n, a in updates.items()})
    return dict(sorted(recorded.items()))


class RunFeed:
    """A run in the child: its trainer, its epochs, and the batch orders sent to the child
    and used by it so far."""

    def __init__(self, trainer: Any, epochs: int) -> None:
        self.trainer, self.epochs = trainer, epochs
        self.shuffle = bool(trainer.config.shuffle)
        self.n = int(trainer.data.n_train)
        self.ahead = orders_ahead(self.n)
        self.sent = self.used = 0


class RemoteControl:
    """:class:`~biasviz.core.train_loop.TrainingControl`'s commands, sent to the child.

    Callable from any thread.  ``paused`` is True once the child has paused and no
    command has been sent since (a Resume clicked while the pause was on its way wins).
    """

    def __init__(self, process: TrainingProcess) -> None:
        self._process = process
        self._seq = 0
        self._paused_seq = -1
        self._stopped = False
        self._lock = threading.Lock()
        self._live = False  # commands wait until the run itself has been sent
        self._over = False  # ...and are dropped once it is over (the next run's are not
        # this one's: the window stops the last run's thread when it starts a new one)
        self._queued: list[tuple] = []
        self.delay = 0.0

    def _command(self, name: str, *args: Any, counts: bool = True) -> None:
        with self._lock:
            if self._over:
                return
            if counts:
                self._seq += 1
            message = ("ctl", self._seq, name, args)
            if not self._live:
                self._queued.append(message)
                return
            try:
                self._process._send(message)
            except TrainingProcessError:
                pass  # the child is gone: the run itself reports that

    def _go_live(self) -> None:
        with self._lock:
            self._live = True
            queued, self._queued = self._queued, []
            for message in queued:
                self._process._send(message)  # raised here, the run reports it

    def _end(self) -> None:
        with self._lock:
            self._over = True

    def pause(self) -> None:
        self._command("pause")

    def resume(self) -> None:
        self._command("resume")

    def stop(self) -> None:
        self._stopped = True
        self._command("stop")

    def step(self, batches: int = 1) -> None:
        self._command("step", int(batches))

    def step_epoch(self) -> None:
        self._command("step_epoch")

    def set_delay(self, seconds: float) -> None:
        self.delay = max(0.0, float(seconds))
        self._command("set_delay", self.delay, counts=False)

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        """Replace the parameters between two batches (edits while paused)."""
        self._command("params", params, counts=False)

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def paused(self) -> bool:
        return self._paused_seq == self._seq

    def _child_paused(self, seq: int) -> None:
        self._paused_seq = seq


class TrainingProcess:
    """The child process and the pipes to it; one run at a time."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._cmd: Connection | None = None  # parent → child
        self._evt: Connection | None = None  # child → parent
        # descriptors of shared images go to the child over this (Unix socket; or None)
        self._fds: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._data_ref: Any = None  # weak reference to the task data the child holds
        self._start_lock = threading.Lock()

    # -- life ----------------------------------------------------------------------------
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the child (if it is not running) and wait until it is ready."""
        with self._start_lock:
            if self.alive():
                return
            self._close_pipes()
            cmd_r, cmd_w = Pipe(duplex=False)
            evt_r, evt_w = Pipe(duplex=False)
            _widen_pipe(evt_w)
            _widen_pipe(cmd_w)  # the orders too: 60,000 images' order is 240 KB
            fds_parent, fds_child = _fd_socketpair()
            child_fds = [cmd_r.fileno(), evt_w.fileno()]
            if fds_child is not None:
                child_fds.append(fds_child.fileno())
            package_root = str(Path(__file__).resolve().parents[2])
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (package_root, env.get("PYTHONPATH", "")) if p)
            # One BLAS thread: the child's products are small (see hold_one_blas_thread)
            for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                env[var] = "1"
            try:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "biasviz.core.train_process",
                     *(str(fd) for fd in child_fds)],
                    pass_fds=tuple(child_fds), env=env,
                    stdin=subprocess.DEVNULL, close_fds=True,
                )
            except OSError as exc:
                if fds_parent is not None:
                    fds_parent.close()
                raise TrainingProcessStartError(
                    f"could not start the training process: {exc}") from None
            finally:
                cmd_r.close()
                evt_w.close()
                if fds_child is not None:
                    fds_child.close()
            # Never outlive the app, even when nobody calls close()
            _children.add(self._proc)
            weakref.finalize(self, _end_child, self._proc)
            self._cmd, self._evt = cmd_w, evt_r
            self._fds = fds_parent
            self._data_ref = None
            if not evt_r.poll(START_TIMEOUT):
                self.close()
                raise TrainingProcessStartError("the training process did not start in time")
            try:
                hello = evt_r.recv()
            except (EOFError, OSError):
                hello = None
            if hello != ("ready",):
                self.close()
                raise TrainingProcessStartError("the training process failed to start")

    def close(self, timeout: float = 2.0) -> None:
        """Ask the child to quit, and make sure it has."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                self._send(("quit",))
            except TrainingProcessError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if proc is not None:
            _end_child(proc)
        self._proc = None
        self._close_pipes()

    def _close_pipes(self) -> None:
        for conn in (self._cmd, self._evt):
            if conn is not None:
                conn.close()
        if self._fds is not None:
            self._fds.close()
        self._cmd = self._evt = self._fds = None

    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _send(self, message: tuple) -> None:
        with self._send_lock:
            if self._cmd is None:
                raise TrainingProcessError("the training process is not running")
            try:
                self._cmd.send(message)
            except (OSError, ValueError) as exc:
                raise TrainingProcessError(f"the training process is gone ({exc})") from None

    def holds(self, data: Any) -> bool:
        """Has the child got ``data`` (these very arrays)?"""
        ref = self._data_ref
        return ref is not None and ref() is data

    def preload(self, data: Any) -> None:
        """Start the child if needed and give it ``data`` now (a background job when the
        task changes), so that the first Start does not wait for 60,000 images to travel
        and the child has touched their memory before it trains on them."""
        self.start()
        self._send_data(data)

    def _send_data(self, data: Any) -> None:
        """The task's images after a small description: arrays in shared memory
        (:mod:`~biasviz.core.shared_images`: images read from IDX files) as a descriptor
        the child maps, the others as raw bytes (no pickled copy of 60,000 images on
        either side).  Nothing is sent when the child has them already."""
        with self._send_lock:
            if self.holds(data):  # (compared as objects: ids can be reused)
                return
            if self._cmd is None:
                raise TrainingProcessError("the training process is not running")
            arrays = {name: np.ascontiguousarray(getattr(data, name)) for name in _DATA_ARRAYS}
            empty = replace(data, **{name: np.empty(0, a.dtype) for name, a in arrays.items()})
            handles = {name: shared_images.shared_handle(a) if self._fds is not None else None
                       for name, a in arrays.items()}
            fds = sorted({h[0] for h in handles.values() if h is not None})
            # where each array is: None (its bytes follow), or (which descriptor, offset)
            where = {name: None if h is None else (fds.index(h[0]), h[1])
                     for name, h in handles.items()}
            layout = [(name, a.shape, a.dtype.str, where[name]) for name, a in arrays.items()]
            self._data_ref = None
            try:
                if fds:  # first: the child reads them once it has read the description
                    assert self._fds is not None
                    socket.send_fds(self._fds, [b"f"], fds)
                self._cmd.send(("data", empty, layout))
                for name, a in arrays.items():
                    if handles[name] is not None:
                        continue
                    # in pieces: a Connection receives a message whole into a buffer of
                    # its own before copying it out (47 MB more at the child's peak)
                    raw = a.data.cast("B")
                    for start in range(0, max(len(raw), 1), DATA_CHUNK):
                        self._cmd.send_bytes(raw[start : start + DATA_CHUNK])
            except (OSError, ValueError) as exc:
                raise TrainingProcessError(f"the training process is gone ({exc})") from None
            self._data_ref = weakref.ref(data)

    def _recv(self) -> Any:
        evt = self._evt
        if evt is None:
            raise TrainingProcessError("the training process is not running")
        try:
            return evt.recv()
        except (EOFError, OSError):
            code = self._proc.poll() if self._proc is not None else None
            self.close(timeout=0.5)
            raise TrainingProcessError(
                "the training process ended unexpectedly"
                + (f" (exit code {code})" if code is not None else "")
            ) from None

    # -- a run ---------------------------------------------------------------------------
    def control(self) -> RemoteControl:
        return RemoteControl(self)

    def ready_for(self, data: Any) -> bool:
        """Is the child running and holding ``data``'s images?  Then :meth:`begin` is
        quick (a message and the batch orders drawn ahead), fit for the GUI thread."""
        return self.alive() and self.holds(data)

    def begin(self, trainer: Any, epochs: int, control: RemoteControl,
              fresh_draws: bool = True) -> RunFeed:
        """Send the child a run: ``trainer`` (a numpy-engine
        :class:`~biasviz.core.training.Trainer`) trains ``epochs`` more epochs there;
        its images first if the child does not hold them, then the run and its first
        batch orders.  :meth:`run` relays what follows.

        The window calls this itself when :meth:`ready_for` says it is quick: the child
        then trains while the window shows that the run started.  Sent from the thread
        that relays the reports, it went ~5 ms later (of the chapter's 0.08 s run): a new
        thread waits for the GIL, which the window's handlers hold, in Qt's C++ too.
        ``fresh_draws=False`` sends only orders drawn ahead (no torch draws here)."""
        self.start()
        self._send_data(trainer.data)
        feed = RunFeed(trainer, int(epochs))
        self._send(("run", trainer.spec, trainer.config, trainer.engine_state(), int(epochs),
                    control.delay))
        control._go_live()
        self._top_up(feed, fresh_draws)
        return feed

    def _top_up(self, feed: RunFeed, fresh_draws: bool = True) -> None:
        """Send the batch orders the child will need next: in batches of 1, 2, 4… orders,
        so that it starts as soon as it has the first epoch's and always has the next
        one (the chapter's epochs take it 0.5 ms, drawing 244 orders here 10 ms: sent in
        one batch, it waited for them).  ``fresh_draws=False``: only orders drawn ahead.
        A batch goes as one array, a row per order: the chapter's 655 orders as 655
        arrays took 12 ms to pickle (at the run's start, holding the GIL the window's
        first frames needed) and 2 ms to unpickle in the child; stacked, 4 ms and 0.1."""
        if not feed.shuffle:
            return
        order, n = feed.trainer.order, feed.n
        batch: list[np.ndarray] = []
        size = 1
        while feed.sent < feed.epochs and feed.sent - feed.used < feed.ahead:
            if not fresh_draws and not order.prefetched():
                break
            batch.append(order.draw(n).astype(np.int32))
            feed.sent += 1
            if len(batch) >= size:
                self._send(("orders", np.stack(batch)))
                batch, size = [], size * 2
        if batch:
            self._send(("orders", np.stack(batch)))

    def run(self, trainer: Any, epochs: int, control: RemoteControl,
            feed: RunFeed | None = None) -> Iterator[Report]:
        """Train ``trainer`` (a numpy-engine :class:`~biasviz.core.training.Trainer`)
        ``epochs`` more epochs in the child; yields its reports.  ``feed``: what
        :meth:`begin` gave, when the run was sent already.  When the run is over (or
        this generator is closed, or the child fails) the trainer holds the child's last
        state; a failure raises :class:`TrainingProcessError`."""
        if feed is None:
            feed = self.begin(trainer, epochs, control)
        shuffle, order = feed.shuffle, trainer.order

        done = False
        last: Snapshot | None = None
        try:
            self._top_up(feed)  # the orders begin() did not draw
            while True:
                message = self._recv()
                kind = message[0]
                if kind == "report":
                    report: Report = message[1]
                    if shuffle and report.orders_used > feed.used:
                        order.used(report.orders_used - feed.used)
                        feed.used = report.orders_used
                        self._top_up(feed)
                    if report.state is not None:
                        trainer.load_engine_state(report.state)
                        if report.events and isinstance(report.events[-1], Paused):
                            control._child_paused(report.seq)
                    if report.snapshot is not None:
                        last = report.snapshot
                    yield report
                elif kind == "done":
                    _, state, orders_used = message
                    trainer.load_engine_state(state)
                    if shuffle:
                        order.used(orders_used - feed.used)
                        feed.used = orders_used
                    done = True
                    return
                elif kind == "error":
                    # the run broke in the child: start afresh next time, keep what it did
                    self.close(timeout=0.5)
                    sys.stderr.write(message[2])  # the child's traceback, for a bug report
                    raise TrainingProcessError(f"training failed: {message[1]}")
        finally:
            if not done:
                self._abandon(trainer, last)
            control._end()
            if shuffle:
                order.rewind_unused()
                if trainer.epoch_in_progress()[0] > 0:  # stopped in mid-epoch: the next
                    order.rewind_epoch()  # run draws this epoch's order again

    def _abandon(self, trainer: Any, last: Snapshot | None) -> None:
        """The run ended early on our side (closed, or the child failed): stop the child
        and take its last state, or else keep the last parameters it reported."""
        if self.alive():
            try:
                self._send(("ctl", -1, "stop", ()))
                deadline = time.monotonic() + 5.0
                while self._evt is not None and time.monotonic() < deadline:
                    if not self._evt.poll(max(0.0, deadline - time.monotonic())):
                        break
                    message = self._evt.recv()
                    if message[0] == "done":
                        trainer.load_engine_state(message[1])
                        return
                    if message[0] == "error":
                        break
            except (TrainingProcessError, EOFError, OSError):
                pass
            self.close(timeout=0.5)  # never reuse a child in an unknown state
        if last is not None:
            trainer.set_params(last.params)
            trainer.step, trainer.epoch = last.step, last.epoch


# -- the child's side -----------------------------------------------------------------------
class _MemoryLog:
    """The child's memory at each stage, as JSON lines (``ENV_MEMLOG``; off by default)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        if path:
            import tracemalloc

            tracemalloc.start()

    def write(self, stage: str) -> None:
        if not self.path:
            return
        import json
        import tracemalloc

        line: dict[str, Any] = {"stage": stage}
        for name, keys in (("status", ("VmRSS", "VmHWM")),
                           ("smaps_rollup", ("Rss", "Pss", "Anonymous", "Shared_Clean",
                                             "Shared_Dirty", "Private_Clean",
                                             "Private_Dirty"))):
            try:
                with open(f"/proc/self/{name}", encoding="ascii") as fh:
                    for row in fh:
                        key = row.split(":")[0]
                        if key in keys:
                            line[key + "_kib"] = int(row.split()[1])
            except OSError:
                pass
        current, peak = tracemalloc.get_traced_memory()
        line["traced_kib"], line["traced_peak_kib"] = current // 1024, peak // 1024
        top = tracemalloc.take_snapshot().statistics("lineno")[:6]
        line["traced_top"] = [(str(s.traceback[0]), s.size // 1024) for s in top]
        tracemalloc.reset_peak()
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")


class _FedOrder:
    """Batch orders as the parent sends them (waits for the next if none has come)."""

    def __init__(self) -> None:
        self.queue: queue.Queue[np.ndarray] = queue.Queue()
        self.used = 0
        self.control: Any = None

    def next_order(self, n: int) -> np.ndarray:
        while True:
            try:
                order = self.queue.get(timeout=0.05)
            except queue.Empty:
                if self.control is not None and self.control.stopped:
                    return np.arange(n, dtype=np.int64)  # the run ends before using it
                continue
            self.used += 1
            return order

    def give_back(self) -> None:
        """The last order was not used (the run stopped before its first batch): it does
        not count as used, and the parent draws it again for the next run."""
        self.used = max(0, self.used - 1)


class _Child:
    def __init__(self, cmd: Connection, evt: Connection,
                 fds: socket.socket | None = None) -> None:
        self.cmd, self.evt, self.fds = cmd, evt, fds
        self.runs: queue.Queue[tuple] = queue.Queue()
        self.data: Any = None
        self.control: Any = None
        self.orders = _FedOrder()
        self.trainer: Any = None
        self.seq = 0
        self.seq_lock = threading.Lock()
        self.memlog = _MemoryLog(os.environ.get(ENV_MEMLOG))
        # Messages to the parent, pickled, in order; the sender thread writes them.
        self._outgoing: queue.Queue[memoryview | None] = queue.Queue(maxsize=SEND_AHEAD)
        self._sender = threading.Thread(target=self._send_all, name="biasviz-sender",
                                        daemon=True)
        self._sender.start()

    def send(self, message: tuple) -> None:
        """Pickled here (a report's recorded rows are reused once it returns), written by
        the sender thread: the training goes on while the parent reads.  A report of the
        chapter's (~600 KB) had the training wait 1-6 ms for the window's relay to make
        room in the pipe, ~10 ms of a 70 ms run.  At most ``SEND_AHEAD`` wait their turn:
        then the training waits (the parent is that far behind)."""
        self._outgoing.put(ForkingPickler.dumps(message))

    def _send_all(self) -> None:
        while True:
            data = self._outgoing.get()
            if data is None:
                return
            try:
                self.evt.send_bytes(data)
            except OSError:
                # the parent is gone: the listener hears it too and ends the child;
                # what is still to send is dropped (the queue must not fill and block)
                while True:
                    if self._outgoing.get() is None:
                        return

    def close_sending(self, timeout: float = 5.0) -> None:
        """Every message sent, then the sender thread ends."""
        self._outgoing.put(None)
        self._sender.join(timeout)

    def listen(self) -> None:
        """The listener thread: commands go straight to the running control."""
        while True:
            try:
                message = self.cmd.recv()
            except (EOFError, OSError):
                message = ("quit",)
            kind = message[0]
            if kind == "ctl":
                _, seq, name, args = message
                control = self.control
                with self.seq_lock:  # a command and its number change together
                    if control is not None:
                        if name == "params":
                            params = args[0]
                            control.submit(lambda p=params: self.trainer.set_params(p))
                        else:
                            getattr(control, name)(*args)
                    if seq >= 0 and name not in ("params", "set_delay"):
                        self.seq = seq
            elif kind == "orders":  # a row per order
                for order in message[1]:
                    self.orders.queue.put(order)
            elif kind == "run":
                control = TrainingControl()
                control.set_delay(message[5])
                self.orders = _FedOrder()
                self.orders.control = control
                self.control = control
                # (the run takes its own control and orders: the serving thread may still
                # be winding the last run up, and clearing this one's)
                self.runs.put((*message, control, self.orders))
            elif kind == "data":
                # Taken here, not handed to the serving thread through its queue: that
                # thread would hold the old images while this one received the new ones.
                # (The parent sends images only between runs, and before the run that
                # uses them, so a run always starts with the images sent before it.)
                self.data = None  # the old images go before the new ones come (peak RSS)
                self.data = self._receive_data(*message[1:])
                self.memlog.write("data received")
            else:  # quit
                if self.control is not None:
                    self.control.stop()
                self.runs.put(("quit",))
                return

    def _receive_data(self, empty: Any, layout: list) -> Any:
        """The task's images: mapped from the parent's shared memory, or received
        straight into their arrays."""
        arrays = {}
        fds: list[int] = []
        wanted = {entry[3][0] for entry in layout if entry[3] is not None}
        if wanted:
            assert self.fds is not None
            # one byte: one message (its descriptors), never the start of the next
            _, fds, _, _ = socket.recv_fds(self.fds, 1, len(wanted))
        try:
            for name, shape, dtype, where in layout:
                if where is not None:  # read-only: the parent's images, not a copy
                    arrays[name] = shared_images.map_shared(fds[where[0]], shape, dtype,
                                                            where[1])
        finally:
            for fd in fds:
                os.close(fd)  # the mappings stay
        for name, shape, dtype, where in layout:
            if where is not None:
                continue
            a = np.empty(shape, np.dtype(dtype))
            raw, done = a.data.cast("B"), 0
            if not len(raw):
                self.cmd.recv_bytes()  # the one empty piece
            while done < len(raw):
                done += self.cmd.recv_bytes_into(raw, done)
            arrays[name] = a
        return replace(empty, **arrays)

    def serve(self) -> None:
        threading.Thread(target=self.listen, name="biasviz-commands", daemon=True).start()
        self.send(("ready",))
        self.memlog.write("ready")
        while True:
            message = self.runs.get()
            if message[0] == "quit":
                self.close_sending()
                return
            try:
                self.memlog.write("run started")
                self.train(*message[1:5], control=message[6], orders=message[7])
                self.memlog.write("run ended")
            except Exception as exc:  # noqa: BLE001 - reported to the parent, which shows it
                self.send(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
            finally:
                # The run's trainer holds the images too: it goes with the run, so that
                # new images never arrive while the old ones are still held (60k images:
                # 55 MB more at the child's peak).
                with self.seq_lock:
                    if self.control is message[6]:  # (not a run sent meanwhile)
                        self.control = None
                self.trainer = None

    def train(self, spec: Any, config: Any, state: dict, epochs: int, *,
              control: TrainingControl, orders: _FedOrder) -> None:
        trainer = TrainerCore(spec, self.data, config, state["params"], orders)
        trainer.load_engine_state(state)
        self.trainer = trainer
        pace = RecordingPace(RECORD_BYTES_PER_SECOND)
        events: list = []
        recorded = RecordedStack(spec)
        last_sent = time.perf_counter()
        end = EndNear(trainer.step + trainer.batches_left_in_epoch()
                      + (epochs - 1) * trainer.batches_per_epoch)
        for event in trainer.run(epochs, control):
            events.append(event)
            shown = False
            near_end = False
            if isinstance(event, StepMetrics):
                shown = control.shows_this_batch()
                if pace.due(event, shown=shown):
                    took = time.perf_counter()
                    recorded.take(trainer)
                    pace.recorded(time.perf_counter() - took, recorded.row_bytes)
                near_end = end.due(event.step, control.delay)
            if isinstance(event, TrainingEnded):
                continue  # the last event: reported below, once the run has wound up
            now = time.perf_counter()
            paused = isinstance(event, Paused)
            # (a step on screen for a while, in slow motion, goes at once: held for the
            # interval, it went with the next step, and the window never showed it)
            if (paused or shown or near_end or now - last_sent >= REPORT_INTERVAL
                    or len(recorded) * recorded.row_bytes >= MAX_PENDING_BYTES
                    or (isinstance(event, EpochMetrics) and orders.queue.empty())):
                pause_state: dict | None = None
                seq = self.seq
                if paused:
                    pause_state = trainer.engine_state()
                    with self.seq_lock:  # still paused as of command `seq`? (else stale)
                        seq = self.seq if control.paused else -1
                self._report(events, recorded, trainer, orders.used, seq, pause_state)
                sent = time.perf_counter()
                if len(recorded):  # sending them is part of what recording costs
                    pace.charge(sent - now, len(recorded))
                events = []
                recorded.clear()
                last_sent = time.perf_counter()
        # The end: its events with the trainer's final state, then "done".
        final = trainer.engine_state()
        self._report(events, recorded, trainer, orders.used, self.seq, final)
        self.send(("done", final, orders.used))

    def _report(self, events: list, recorded: RecordedStack, trainer: Any, orders_used: int,
                seq: int, state: dict | None) -> None:
        self.send(("report", Report(events, {}, trainer.snapshot(), orders_used, seq, state,
                                    packed=recorded.packed())))


#: The pipes hold this much (Linux; the default is 64 KB): a report of recorded snapshots
#: (up to ~0.8 MB for the MLP at 30 reports a second) is written at once, instead of in
#: 64 KB turns with the window's thread that reads it; and so are the batch orders.
PIPE_BYTES = 2**20


def _widen_pipe(conn: Connection) -> int:
    """Make the pipe under ``conn`` hold :data:`PIPE_BYTES` (at most the system's
    ``pipe-max-size``); its size after (0 where pipes cannot be resized)."""
    try:
        import fcntl

        setsize = getattr(fcntl, "F_SETPIPE_SZ", None)
        if setsize is None:
            return 0
        try:
            limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
        except (OSError, ValueError):
            limit = PIPE_BYTES
        return int(fcntl.fcntl(conn.fileno(), setsize, min(PIPE_BYTES, limit)))
    except (ImportError, OSError):
        return 0  # a smaller pipe only means the child waits for the reader more often


class EndNear:
    """When the child's run is about to end: the steps held since the last report go out
    then, ``lead`` seconds before the end at the run's pace, once.  The report the end
    found held up to a report interval of steps (the chapter's: ~400 steps and 150
    recorded snapshots, 4 ms for the window's relay to read and record, all after the
    last step); now the window reads those while the last few steps train, and the end's
    report is small."""

    def __init__(self, end_step: int, lead: float = 0.006,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.end_step = int(end_step)
        self.lead = float(lead)
        self._clock = clock
        self._first: tuple[float, int] | None = None
        self._done = False

    def due(self, step: int, delay: float = 0.0) -> bool:
        """After ``step``: send what is held now?  (Never in slow motion: each step goes
        on its own there.)"""
        now = self._clock()
        if self._first is None:
            self._first = (now, int(step))
            return False
        if self._done or delay > 0:
            return False
        t0, step0 = self._first
        done = int(step) - step0
        if done <= 0:
            return False
        left = self.end_step - int(step)
        if 0 < left and left * (now - t0) / done <= self.lead:
            self._done = True
            return True
        return False


def _fd_socketpair() -> tuple[socket.socket | None, socket.socket | None]:
    """A Unix socket pair to hand descriptors to the child (None, None where there is
    none: the images then travel as bytes)."""
    if not hasattr(socket, "send_fds") or not hasattr(socket, "AF_UNIX"):
        return None, None
    try:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError:
        return None, None
    child.set_inheritable(True)
    return parent, child


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    cmd, evt = Connection(int(argv[0]), writable=False), Connection(int(argv[1]), readable=False)
    fds = socket.socket(fileno=int(argv[2])) if len(argv) > 2 else None
    if os.environ.get("OPENBLAS_NUM_THREADS") == "1":  # as TrainingProcess.start sets it
        from biasviz.core.engine_numpy import pin_one_blas_thread

        pin_one_blas_thread()
    _Child(cmd, evt, fds).serve()
    return 0


if __name__ == "__main__":
    # Through the package, so that what is pickled names biasviz.core.train_process
    # (not __main__) and the parent can read it.
    from biasviz.core import train_process

    raise SystemExit(train_process.main())
