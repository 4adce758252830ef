"""Backpressure and the frame budget, without Qt."""

from __future__ import annotations

import threading

import pytest

from biasviz.core.mailbox import FrameBudget, Mailbox


def test_only_one_wakeup_until_taken():
    box = Mailbox()
    assert box.put(1) is True
    assert box.put(2) is False and box.put(3, urgent=True) is False
    events, _ = box.take()
    assert events == [1, 2, 3]
    assert box.put(4) is True


def test_state_is_made_only_when_a_wakeup_goes_out():
    box = Mailbox()
    calls = []

    def state():
        calls.append(1)
        return len(calls)

    box.put("a", state=state)
    for _ in range(100):
        box.put("b", state=state)
    assert len(calls) == 1
    events, newest = box.take()
    assert len(events) == 101 and newest == 1


def test_urgent_refreshes_the_state_while_waiting():
    box = Mailbox()
    box.put("step", state=lambda: "old")
    box.put("paused", urgent=True, state=lambda: "new")
    assert box.take() == (["step", "paused"], "new")


def test_min_interval_with_a_fake_clock():
    now = [0.0]
    box = Mailbox(min_interval=0.1, clock=lambda: now[0])
    assert box.put(1)
    box.take()
    now[0] = 0.05
    assert not box.put(2)  # too soon
    assert box.put(3, urgent=True)  # urgent goes at once
    box.take()
    now[0] = 0.2
    assert box.put(4)


def test_nothing_lost_between_threads():
    box = Mailbox()
    taken: list = []
    done = threading.Event()

    def produce():
        for i in range(50_000):
            box.put(i)
        done.set()

    t = threading.Thread(target=produce)
    t.start()
    while not done.is_set() or box.pending:
        taken.extend(box.take()[0])
    t.join()
    taken.extend(box.take()[0])
    assert taken == list(range(50_000))


def test_frame_budget_keeps_painting_a_minority():
    budget = FrameBudget(min_interval=1 / 30, max_share=0.5)
    assert budget.next_interval(0.001) == pytest.approx(1 / 30)
    assert budget.next_interval(0.040) == pytest.approx(0.040)  # 40 ms paint → wait 40 ms
    share = FrameBudget(min_interval=0.0, max_share=0.25)
    cost = 0.030
    wait = share.next_interval(cost)
    assert cost / (cost + wait) == pytest.approx(0.25)
    assert FrameBudget(max_interval=0.5).next_interval(10.0) == 0.5
    with pytest.raises(ValueError):
        FrameBudget(max_share=0)


def test_put_all_adds_a_batch_with_one_decision():
    clock = [0.0]
    box = Mailbox(min_interval=0.1, clock=lambda: clock[0])
    states = []
    assert box.put_all([1, 2, 3], state=lambda: states.append("s") or "s1")
    assert not box.put_all([4, 5], state=lambda: states.append("s") or "s2")  # not taken
    assert states == ["s"]  # the state is made only when a wake-up goes out
    events, state = box.take()
    assert events == [1, 2, 3, 4, 5] and state == "s1"
    assert not box.put_all([6])  # too soon after the last wake-up
    assert box.put_all([7], urgent=True, state=lambda: "s3")
    assert box.take() == ([6, 7], "s3")
    assert not box.put_all([])  # nothing new, not urgent


def test_run_pace_says_when_a_run_ends_and_skips_only_frames_near_the_end():
    from biasviz.core.mailbox import RunPace

    now = [10.0]
    pace = RunPace(clock=lambda: now[0], patience=0.25)
    assert pace.seconds_left(5) is None and not pace.skip_frame(5, 0.1)  # no run yet
    pace.started(step=100, end_step=1100)
    assert pace.seconds_left(100) is None  # no step done: no pace
    now[0] = 10.01
    assert pace.seconds_left(110) is None  # too soon to tell (slow motion waits after)
    now[0] = 10.5
    assert pace.seconds_left(600) == pytest.approx(0.5)  # 500 steps in 0.5 s, 500 left
    assert not pace.skip_frame(600, 0.1)
    now[0] = 10.95
    assert pace.seconds_left(1050) == pytest.approx(0.05)  # 950 steps in 0.95 s, 50 left
    assert pace.skip_frame(1050, 0.1)
    now[0] = 11.1  # a stall: the end did not come when the pace said
    assert pace.skip_frame(1050, 0.1)
    now[0] = 11.3  # ...skipping for longer than the patience: frames again
    assert not pace.skip_frame(1050, 0.1)
    # slow motion: the same steps left take long, no skip
    pace.started(step=0, end_step=100)
    now[0] = 21.3
    assert pace.seconds_left(90) == pytest.approx(10 * 10.0 / 90)
    assert not pace.skip_frame(90, 0.1)
    pace.started(step=0, end_step=None)  # no planned end: never skipped
    now[0] = 22.0
    assert pace.seconds_left(5) is None and not pace.skip_frame(5, 0.1)


def test_run_pace_counts_the_time_since_the_newest_report():
    """A frame drawn 40 ms after a report reads that report's step: "400 steps in 92 ms"
    was taken for the pace (they were done in 47 ms) and the frame, drawn 25 ms before the
    end, competed with the run's last steps and held up its end."""
    from biasviz.core.mailbox import RunPace

    now = [0.0]
    pace = RunPace(clock=lambda: now[0])
    pace.started(step=0, end_step=980)
    now[0] = 0.047
    pace.heard(420)  # a report: 420 steps done in 47 ms
    now[0] = 0.092  # a frame, 45 ms on, showing that report's step
    left = 560 * 0.047 / 420 - 0.045
    assert pace.seconds_left(420) == pytest.approx(left)
    assert pace.skip_frame(420, 0.1)
    # without the report's time it read 560 steps × 92/420 ms: 123 ms, a frame drawn
    assert 560 * 0.092 / 420 > 0.1
    now[0] = 0.2  # overdue: nothing left, not less than nothing
    assert pace.seconds_left(420) == 0.0
    pace.heard(100)  # (an older step than the newest heard is never the newest)
    assert pace.seconds_left(420) == 0.0
    pace.started(step=0, end_step=980)  # a new run forgets the last one's reports
    now[0] = 0.25
    assert pace.seconds_left(0) is None
    pace.heard(0)  # no step done yet: nothing heard
    assert pace.seconds_left(0) is None
