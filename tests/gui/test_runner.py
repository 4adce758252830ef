"""The one background runner: every event arrives, in order, with backpressure (one
wake-up in flight at most), stale runs are dropped, and quitting stops them all."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from biasviz.core.datasets import Task, load_sample, make_task_data
from biasviz.core.spec import ModelSpec, TrainConfig
from biasviz.gui.runner import Runner, stop_all_runners


def _collect(runner: Runner) -> dict:
    got: dict = {"events": [], "updates": 0, "states": [], "finished": [], "failed": []}

    def updated(_rid, events, state):
        got["events"].extend(events)
        got["updates"] += 1
        got["states"].append(state)

    runner.updated.connect(updated)
    runner.finished.connect(lambda rid, result: got["finished"].append((rid, result)))
    runner.failed.connect(lambda rid, msg, tb: got["failed"].append(msg))
    return got


def test_every_event_arrives_in_order_and_the_result_last(qtbot):
    runner = Runner()
    got = _collect(runner)

    def work(out):
        for i in range(20_000):
            out.put(i, state=lambda i=i: i)
        return "done"

    with qtbot.waitSignal(runner.finished, timeout=30_000):
        rid = runner.start(work)
    assert got["events"] == list(range(20_000))
    assert got["finished"] == [(rid, "done")]
    # the newest state wins: the last update carries the last state
    assert got["states"][-1] == 19_999
    # backpressure: far fewer wake-ups than events
    assert got["updates"] < 20_000 / 10


def test_a_slow_consumer_never_builds_a_queue(qtbot):
    """While the GUI thread is busy (a slow redraw), the worker keeps piling events into
    the mailbox; when the GUI comes back it gets everything in one update."""
    runner = Runner()
    got = _collect(runner)
    gate = threading.Event()

    def work(out):
        for i in range(5000):
            out.put(i)
            if i == 10:
                gate.wait(5)
        return None

    def slow_updated(_rid, events, _state):
        time.sleep(0.05)  # a 50 ms redraw
        gate.set()

    runner.updated.connect(slow_updated)
    started = time.monotonic()
    with qtbot.waitSignal(runner.finished, timeout=30_000):
        runner.start(work, min_interval=0.0)
    elapsed = time.monotonic() - started
    assert got["events"] == list(range(5000))
    # at most one wake-up in flight: each update costs 50 ms here, so no more of them
    # than fit in the time taken (a pushed update per event would be 5000)
    assert got["updates"] <= elapsed / 0.05 + 2


def test_failure_is_reported_with_the_message(qtbot):
    runner = Runner()
    got = _collect(runner)

    def work(out):
        out.put("before")
        raise ValueError("bad thing")

    with qtbot.waitSignal(runner.failed, timeout=10_000):
        runner.start(work)
    assert got["failed"] == ["ValueError: bad thing"]
    assert got["events"] == ["before"]
    assert got["finished"] == []


def test_cancel_drops_a_stale_run(qtbot):
    runner = Runner()
    got = _collect(runner)
    release = threading.Event()

    def old(out):
        release.wait(5)
        out.put("stale", urgent=True)
        return "old"

    runner.start(old)
    runner.cancel(wait_ms=0)  # do not wait: the old thread is still blocked
    release.set()
    with qtbot.waitSignal(runner.finished, timeout=10_000):
        runner.start(lambda out: (out.put("fresh", urgent=True), "new")[1])
    qtbot.wait(50)
    assert "stale" not in got["events"]
    assert [r for _, r in got["finished"]] == ["new"]


def test_stop_calls_on_stop_and_waits(qtbot):
    runner = Runner()
    stop = threading.Event()

    def work(out):
        while not out.stop_requested:
            time.sleep(0.001)
        return "stopped"

    got = _collect(runner)
    runner.start(work, on_stop=stop.set)
    qtbot.wait(20)
    assert runner.stop(5000)
    assert stop.is_set() and not runner.is_running()
    assert [r for _, r in got["finished"]] == ["stopped"]  # delivered by stop itself


def test_stop_all_runners_stops_training_and_lessons_alike(qtbot):
    from biasviz.core.training import Trainer, TrainingControl

    data = make_task_data(load_sample(), Task.pair(3, 7))
    runners = [Runner(), Runner()]
    controls = []
    for runner in runners:
        trainer = Trainer(ModelSpec(), data, TrainConfig())
        control = TrainingControl()
        controls.append(control)

        def work(out, trainer=trainer, control=control):
            for event in trainer.run(100_000, control):
                out.put(event, state=trainer.snapshot)

        runner.start(work, on_stop=control.stop)
    qtbot.wait(50)
    started = time.monotonic()
    assert stop_all_runners(8000)
    assert time.monotonic() - started < 6  # loose: a stall would take the whole timeout
    assert all(not r.is_running() for r in runners)
    assert all(c.stopped for c in controls)


@pytest.mark.parametrize("interval", [0.0, 1 / 60])
def test_min_interval_bounds_the_update_rate(qtbot, interval):
    runner = Runner()
    got = _collect(runner)

    def work(out):
        end = time.monotonic() + 0.5
        i = 0
        while time.monotonic() < end:
            out.put(i)
            i += 1
        return i

    with qtbot.waitSignal(runner.finished, timeout=10_000):
        runner.start(work, min_interval=interval)
    n = got["finished"][0][1]
    assert got["events"] == list(range(n))
    if interval:
        assert got["updates"] <= 0.5 / interval + 3


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_a_job_keeps_the_gui_threads_priority(qtbot):
    """A job's thread runs at the GUI thread's priority: a lowered one took the GIL and,
    preempted while it held it, kept the GUI thread waiting (priority inversion)."""
    import os

    def nice_of_this_thread(_out):
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    runner = Runner()
    with qtbot.waitSignal(runner.finished, timeout=10_000) as blocker:
        runner.start(nice_of_this_thread)
    assert blocker.args[1] == os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
