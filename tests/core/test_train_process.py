"""Training in a child process gives the run a thread in this process would: same batches,
losses, parameters, events and position; commands reach it; its failures are reported and
lose nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from biasviz.core.datasets import Task, load_sample, make_task_data
from biasviz.core.spec import ModelKind, ModelSpec, Optimizer, Snapshot, TrainConfig
from biasviz.core.train_process import TrainingProcess, TrainingProcessError, live_children
from biasviz.core.training import (
    EpochMetrics,
    Paused,
    StepMetrics,
    Trainer,
    TrainingControl,
    TrainingEnded,
)


@pytest.fixture(scope="module")
def sample():
    return load_sample()


@pytest.fixture
def process():
    proc = TrainingProcess()
    yield proc
    proc.close()


def events_of(reports) -> list:
    return [e for r in reports for e in r.events]


def losses(events) -> list[float]:
    return [e.loss for e in events if isinstance(e, StepMetrics)]


def assert_same_trainers(a: Trainer, b: Trainer) -> None:
    sa, sb = a.snapshot(), b.snapshot()
    assert (sa.step, sa.epoch) == (sb.step, sb.epoch)
    for name in sa.params:
        np.testing.assert_array_equal(sa.params[name], sb.params[name])
    assert (sa.last_update is None) == (sb.last_update is None)
    np.testing.assert_array_equal(a.order_state(), b.order_state())


CASES = {
    "chapter neuron": (ModelSpec(), Task.pair(3, 7), TrainConfig(epochs=6)),
    "MLP with Adam": (ModelSpec(kind=ModelKind.MLP, n_outputs=10, hidden=16, init="standard"),
                      Task.all_ten(),
                      TrainConfig(epochs=1, lr=0.01, batch_size=64, optimizer=Optimizer.ADAM)),
}


@pytest.mark.parametrize("case", CASES)
def test_a_run_in_the_process_is_the_run_in_this_process(sample, process, case):
    spec, task, config = CASES[case]
    data = make_task_data(sample, task)
    here, there = Trainer(spec, data, config), Trainer(spec, data, config)
    expected = list(here.run())
    got = events_of(process.run(there, config.epochs, process.control()))
    assert [type(e) for e in got] == [type(e) for e in expected]
    assert losses(got) == losses(expected)
    assert [e.valid_accuracy for e in got if isinstance(e, EpochMetrics)] == [
        e.valid_accuracy for e in expected if isinstance(e, EpochMetrics)]
    assert_same_trainers(here, there)
    # and the next run goes on alike (optimizer state, batch order)
    list(here.run(1))
    list(process.run(there, 1, process.control()))
    assert_same_trainers(here, there)


def test_a_run_begun_before_its_relay_starts_is_the_same_run(sample, process):
    """The window sends the run itself (begin) when the child holds the images and the
    orders are drawn ahead, and a thread relays it (run with the feed): the same run."""
    spec, task, config = CASES["chapter neuron"]
    data = make_task_data(sample, task)
    here, there = Trainer(spec, data, config), Trainer(spec, data, config)
    expected = list(here.run())
    assert not process.ready_for(there.data)  # the child has not got these images yet
    process.preload(there.data)
    assert process.ready_for(there.data)
    there.order.prefetch(2, data.n_train)  # only these two go at once; the rest later
    control = process.control()
    feed = process.begin(there, config.epochs, control, fresh_draws=False)
    assert (feed.sent, there.order.prefetched()) == (2, 0)
    got = events_of(process.run(there, config.epochs, control, feed))
    assert losses(got) == losses(expected)
    assert_same_trainers(here, there)


def test_a_finished_runs_control_cannot_touch_the_next_run(sample, process):
    """Starting a run stops the last run's thread, whose control says "stop": the child
    must not apply it to the new run."""
    data = make_task_data(sample, Task.pair(3, 7))
    config = TrainConfig(epochs=30)
    trainer = Trainer(ModelSpec(), data, config)
    old = process.control()
    list(process.run(trainer, 1, old))
    new = process.control()
    feed = process.begin(trainer, 30, new)
    old.stop()
    old.pause()
    events = events_of(process.run(trainer, 30, new, feed))
    assert trainer.epoch == 31
    assert not any(isinstance(e, Paused) for e in events)


def test_reports_carry_recorded_snapshots_of_their_steps(sample, process):
    data = make_task_data(sample, Task.pair(3, 7))
    trainer = Trainer(ModelSpec(), data, TrainConfig(epochs=3))
    reports = list(process.run(trainer, 3, process.control()))
    recorded = {step: snap for r in reports for step, snap in r.recorded.items()}
    steps = [e.step for e in events_of(reports) if isinstance(e, StepMetrics)]
    assert set(recorded) <= set(steps) and steps[-1] in recorded
    # each recorded snapshot is the parameters of its step: replaying gives them
    replay = Trainer(ModelSpec(), data, TrainConfig(epochs=3))
    control = TrainingControl()
    for event in replay.run(3, control):
        if isinstance(event, StepMetrics) and event.step in recorded:
            np.testing.assert_array_equal(replay.snapshot().params["weights"],
                                          recorded[event.step].params["weights"])
    assert isinstance(events_of(reports)[-1], TrainingEnded)


def test_stopping_mid_run_keeps_position_and_batch_order(sample, process):
    data = make_task_data(sample, Task.pair(3, 7))
    config = TrainConfig(epochs=20)
    here, there = Trainer(ModelSpec(), data, config), Trainer(ModelSpec(), data, config)
    control = process.control()
    control.step(10)  # a pause at step 10 (mid-epoch), then the stop
    for report in process.run(there, 20, control):
        if report.events and isinstance(report.events[-1], Paused):
            control.stop()
    ended = there.step
    assert ended == 10 and ended % there.batches_per_epoch != 0
    # the same run here, stopped after the same step
    local = TrainingControl()
    for event in here.run(20, local):
        if isinstance(event, StepMetrics) and event.step == ended:
            local.stop()
    assert_same_trainers(here, there)
    # the stopped epoch is finished first, in both: its number is not used twice
    per_epoch = there.batches_per_epoch
    assert there.batches_left_in_epoch() == per_epoch - ended % per_epoch
    list(here.run(2))
    list(process.run(there, 2, process.control()))
    assert_same_trainers(here, there)
    assert there.step == ended - ended % per_epoch + 2 * per_epoch
    assert there.epoch == ended // per_epoch + 2
    # and it is the run that was never stopped
    straight = Trainer(ModelSpec(), data, config)
    list(straight.run(there.epoch))
    assert_same_trainers(straight, there)


def test_a_run_stopped_between_two_epochs_goes_on_as_if_never_stopped(sample):
    """Stopped after an epoch's last batch, once the next epoch's order was drawn: that
    order goes back, in this process (the generator's state) and in the training
    process (its orders used, which the parent rewinds to).  The next run's first epoch
    took the order after it before."""
    from biasviz.core.train_loop import TrainerCore
    from biasviz.core.train_process import _FedOrder

    data = make_task_data(sample, Task.pair(3, 7))
    config = TrainConfig(epochs=6)
    straight = Trainer(ModelSpec(), data, config)
    expected = losses(straight.run())

    def stopped_after_epoch_2(run) -> list:
        control, events = TrainingControl(), []
        for event in run(control):
            events.append(event)
            if isinstance(event, EpochMetrics) and event.epoch == 2:
                control.stop()
        return events

    here = Trainer(ModelSpec(), data, config)
    first = stopped_after_epoch_2(lambda control: here.run(6, control))
    assert here.epoch == 2 and isinstance(first[-1], TrainingEnded)
    assert losses(first) + losses(here.run(4)) == expected
    assert_same_trainers(straight, here)

    # the training process's side: its fed orders
    parent = Trainer(ModelSpec(), data, config)
    fed = _FedOrder()
    for _ in range(6):
        fed.queue.put(parent.order.draw(data.n_train))
    child = TrainerCore(ModelSpec(), data, config, parent.snapshot().params, fed)
    stopped_after_epoch_2(lambda control: child.run(6, control))
    assert child.epoch == 2 and fed.used == 2  # the third order was given back


def test_pause_step_edit_and_resume_reach_the_process(sample, process):
    data = make_task_data(sample, Task.pair(3, 7))
    config = TrainConfig(epochs=4)
    here, there = Trainer(ModelSpec(), data, config), Trainer(ModelSpec(), data, config)
    control = process.control()
    control.step(3)  # sent once the run starts: 3 batches, then a pause
    edited = None
    pauses = 0
    for report in process.run(there, 4, control):
        if report.events and isinstance(report.events[-1], Paused):
            pauses += 1
            assert control.paused and report.state is not None
            # the parent's trainer is the child's while it waits
            assert there.step == report.events[-1].step
            if pauses == 1:
                assert there.step == 3 and there.batches_left_in_epoch() == 1
                edited = there.snapshot().params
                edited["bias"] = edited["bias"] + np.float32(0.5)
                control.set_params(edited)
                control.step_epoch()
            else:
                control.resume()
    assert pauses == 2
    # the same here: 3 batches, the edit, then on
    local = TrainingControl()
    for event in here.run(4, local):
        if isinstance(event, StepMetrics) and event.step == 3:
            local.submit(lambda: here.set_params(edited))
    assert_same_trainers(here, there)


def test_a_child_that_dies_is_reported_and_the_last_parameters_are_kept(sample, process):
    data = make_task_data(sample, Task.pair(3, 7))
    trainer = Trainer(ModelSpec(), data, TrainConfig(epochs=50))
    control = process.control()
    control.set_delay(0.01)
    last = None
    with pytest.raises(TrainingProcessError, match="ended unexpectedly"):
        for report in process.run(trainer, 50, control):
            last = report.snapshot or last
            if last is not None and last.step >= 3:
                process._proc.kill()
    assert last is not None and trainer.step == last.step
    np.testing.assert_array_equal(trainer.snapshot().params["weights"], last.params["weights"])
    # a new run starts a new child
    list(process.run(trainer, 1, process.control()))
    assert trainer.epoch >= 1 and process.alive()


def test_an_error_in_the_child_is_reported_with_its_message(sample, process):
    data = make_task_data(sample, Task.pair(3, 7))
    trainer = Trainer(ModelSpec(), data, TrainConfig(epochs=1))
    state = trainer.engine_state()
    state["params"] = {"weights": state["params"]["weights"][:10]}  # the wrong shape
    process.start()
    process._send(("run", trainer.spec, trainer.config, state, 1, 0.0))
    message = process._recv()
    assert message[0] == "error" and "shape" in message[1] and "Traceback" in message[2]


def test_the_child_runs_without_torch(sample, process):
    data = make_task_data(sample, Task.pair(3, 7))
    trainer = Trainer(ModelSpec(), data, TrainConfig(epochs=1))
    list(process.run(trainer, 1, process.control()))
    maps = Path(f"/proc/{process.pid()}/maps").read_text()
    assert "numpy" in maps and "libtorch" not in maps


def test_commands_from_another_thread_while_reports_are_read(sample, process):
    data = make_task_data(sample, Task.pair(3, 7))
    trainer = Trainer(ModelSpec(), data, TrainConfig(epochs=200))
    control = process.control()
    reports = process.run(trainer, 200, control)
    first = next(reports)
    assert first.events
    hammer = threading.Thread(target=lambda: [control.set_delay(0.0) for _ in range(300)])
    hammer.start()
    control.stop()
    rest = list(reports)
    hammer.join()
    assert isinstance(events_of(rest)[-1], TrainingEnded)


def test_close_ends_the_child(process, sample):
    process.start()
    assert process.alive() and live_children() >= 1
    pid = process.pid()
    process.close()
    assert not process.alive() and not Path(f"/proc/{pid}/status").exists()


def test_recording_pace_thins_when_recordings_cost_more_than_a_share_of_a_step():
    from biasviz.core.train_loop import RecordingPace

    pace = RecordingPace()
    # steps of ~1 ms; recordings (with their sending) of 0.5 ms: far above 5 % of a step
    for k in range(200):
        pace._last -= 0.001  # a millisecond of training since the last call
        if pace.due(StepMetrics(k + 1, 1, (k % 999) + 1, 1000, 0.5)):
            pace.recorded(0.0001)
            pace.charge(0.0004, 1)
    assert pace.stride >= 8
    # and cheap recordings bring it back to every step
    for k in range(2000):
        pace._last -= 0.001
        if pace.due(StepMetrics(k + 1, 1, (k % 999) + 1, 1000, 0.5)):
            pace.recorded(0.000001)
    assert pace.stride == 1
    pace.stride = 8
    assert not pace.due(StepMetrics(3, 1, 3, 1000, 0.5))
    assert pace.due(StepMetrics(3, 1, 1000, 1000, 0.5))  # an epoch's last step: always


def test_a_step_the_user_sees_is_always_recorded():
    """A single step's last batch, a step before a pause or in slow motion goes into the
    timeline however thin the recording is (stepping twice and going back a moment
    went back to step 0: step 2 was not recorded)."""
    from biasviz.core.train_loop import RecordingPace, TrainingControl

    pace = RecordingPace()
    pace.stride = 8
    control = TrainingControl()
    assert not control.shows_this_batch()
    assert not pace.due(StepMetrics(3, 1, 3, 1000, 0.5), control.shows_this_batch())
    control.step(1)  # this batch is the step's last: training pauses after it
    assert control.shows_this_batch()
    assert pace.due(StepMetrics(4, 1, 4, 1000, 0.5), control.shows_this_batch())
    control.step(3)
    assert not control.shows_this_batch()
    control.resume()
    control.pause()  # a Pause asked for: the next step is the one left on screen
    assert control.shows_this_batch()
    control.resume()
    control.set_delay(0.2)  # slow motion: every step is on screen for a while
    assert control.shows_this_batch()


def test_stepping_in_the_training_process_records_every_step(sample, process):
    data = make_task_data(sample, Task.pair(3, 7))
    trainer = Trainer(ModelSpec(), data, TrainConfig(epochs=1))
    control = process.control()
    recorded: list[int] = []
    control.step(1)
    for report in process.run(trainer, 1, control):
        recorded += sorted(report.recorded)
        if report.events and isinstance(report.events[-1], Paused):
            if trainer.step >= 3:
                control.stop()
            else:
                control.step(1)
    assert recorded[:3] == [1, 2, 3]


def test_recording_pace_keeps_the_bytes_recorded_per_second_bounded():
    from biasviz.core.train_loop import RecordingPace

    pace = RecordingPace(max_bytes_per_second=1_000_000)
    for k in range(400):
        pace._last -= 0.0002  # 5,000 steps a second
        if pace.due(StepMetrics(k + 1, 1, (k % 999) + 1, 1000, 0.5)):
            pace.recorded(0.0, 200_000)  # free to copy, but 200 KB each
    # at most 1 MB/s: one 200 KB recording per 0.2 s = every 1,000th step (within 2×)
    assert 512 <= pace.stride <= 2048
    small = RecordingPace(max_bytes_per_second=1_000_000)
    for k in range(400):
        small._last -= 0.0002
        if small.due(StepMetrics(k + 1, 1, (k % 999) + 1, 1000, 0.5)):
            small.recorded(0.0, 100)  # 0.5 MB/s at every step: all of them
    assert small.stride == 1


def test_a_report_travels_with_its_recorded_snapshots_stacked_and_comes_back_whole():
    import pickle

    from biasviz.core.train_process import Report

    rng = np.random.default_rng(0)
    single, mlp = ModelSpec(), ModelSpec(kind="mlp", n_outputs=10, hidden=4)

    def snap(spec, step, update):
        shapes = ({"weights": (784,), "bias": (1,)} if spec is single
                  else {"hidden.weights": (4, 784), "out.weights": (10, 4)})
        params = {n: rng.normal(size=s).astype(np.float32) for n, s in shapes.items()}
        last = {n: rng.normal(size=a.shape).astype(np.float32) for n, a in params.items()}
        return Snapshot(spec, params, step, step // 4, last if update else None)

    recorded = {s: snap(single, s, s % 2 == 0) for s in range(1, 9)}
    recorded[9] = snap(mlp, 9, True)  # another kind in the same report
    report = Report(events=[], recorded=recorded, snapshot=recorded[9], orders_used=3, seq=2)
    back = pickle.loads(pickle.dumps(report))
    assert list(back.recorded) == list(recorded) and (back.orders_used, back.seq) == (3, 2)
    for step, original in recorded.items():
        got = back.recorded[step]
        assert (got.spec, got.step, got.epoch) == (original.spec, original.step, original.epoch)
        assert got.params.keys() == original.params.keys()
        for name, array in original.params.items():
            np.testing.assert_array_equal(got.params[name], array)
            assert got.params[name].base is None  # its own memory, not a view of a stack
        if original.last_update is None:
            assert got.last_update is None
        else:
            for name, array in original.last_update.items():
                np.testing.assert_array_equal(got.last_update[name], array)


def test_recorded_rows_are_the_snapshots_the_trainer_would_give(sample):
    """The child records steps as rows of a stack kept between reports: what the parent
    gets is each step's own snapshot (the MLP's transposed hidden weights too), also past
    the stack's first size and for a step with no last update (after an edit)."""
    import pickle

    from biasviz.core.train_loop import TrainerCore
    from biasviz.core.train_process import RecordedStack, Report

    spec, task, config = CASES["MLP with Adam"]
    data = make_task_data(sample, task)
    reference = Trainer(spec, data, config)
    core = TrainerCore(spec, data, config, reference.snapshot().params, reference.order)
    stack = RecordedStack(spec, capacity=2)
    expected = {}
    control = TrainingControl()
    for event in core.run(1, control):
        if isinstance(event, StepMetrics):
            if event.step == 4:  # an edit: the next recording has no last update
                core.set_params(core.snapshot().params)
                expected[event.step] = core.snapshot()
                stack.take(core)
                continue
            expected[event.step] = core.snapshot()
            stack.take(core)
            if event.step == 7:
                control.stop()
    assert len(stack) == 7 and expected[4].last_update is None
    back = pickle.loads(pickle.dumps(Report([], {}, None, packed=stack.packed())))
    assert list(back.recorded) == list(expected)
    for step, want in expected.items():
        got = back.recorded[step]
        assert (got.spec, got.step, got.epoch) == (want.spec, want.step, want.epoch)
        for name, array in want.params.items():
            assert got.params[name].shape == array.shape
            np.testing.assert_array_equal(got.params[name], array)
        if want.last_update is None:
            assert got.last_update is None
        else:
            for name, array in want.last_update.items():
                np.testing.assert_array_equal(got.last_update[name], array)
    stack.clear()
    assert len(stack) == 0 and stack.packed() == []


def test_batch_orders_go_in_growing_batches_so_the_child_never_waits(sample, process,
                                                                      monkeypatch):
    """The first epoch's order goes alone, then 2, 4, 8… (the chapter's epoch takes the
    child 0.5 ms; 40 orders drawn and sent in one message kept it waiting ~2 ms each);
    the run is the same as in this process."""
    data = make_task_data(sample, Task.pair(3, 7))
    config = TrainConfig(epochs=40)
    sizes: list[int] = []
    send = TrainingProcess._send

    def recording(self, message):
        if message[0] == "orders":
            sizes.append(len(message[1]))
            # one array, a row per order (655 arrays pickled one by one: 12 ms)
            assert isinstance(message[1], np.ndarray) and message[1].ndim == 2
        return send(self, message)

    monkeypatch.setattr(TrainingProcess, "_send", recording)
    here, there = Trainer(ModelSpec(), data, config), Trainer(ModelSpec(), data, config)
    expected = list(here.run())
    got = events_of(process.run(there, config.epochs, process.control()))
    assert losses(got) == losses(expected)
    assert_same_trainers(here, there)
    assert sizes[:5] == [1, 2, 4, 8, 16]
    assert sum(sizes) == config.epochs


@pytest.mark.skipif(not hasattr(__import__("fcntl"), "F_GETPIPE_SZ"), reason="Linux pipes")
def test_the_reports_pipe_holds_a_report_of_recorded_snapshots(process):
    """A report carrying the MLP's recorded snapshots (~0.8 MB) is written at once: with
    Linux's default 64 KB pipe the child spent a quarter of a 60k-image run waiting in
    the write for the window's reader (py-spy, 2 runs)."""
    import fcntl

    from biasviz.core.train_process import PIPE_BYTES

    process.start()
    limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
    for conn in (process._evt, process._cmd):  # reports, and the orders the other way
        size = fcntl.fcntl(conn.fileno(), fcntl.F_GETPIPE_SZ)
        assert size >= min(PIPE_BYTES, limit) > 64 * 1024


def test_orders_drawn_ahead_between_runs_are_the_orders_a_run_would_draw():
    """SeededOrder.prefetch draws the next orders before a run asks for them: handed out,
    they are the draws a run would make, the generator's state reads as if they were not
    drawn, and a draw of another size, a rewind or a new state forgets them."""
    from biasviz.core.train_loop import SeededOrder

    plain, ahead = SeededOrder(5), SeededOrder(5)
    plain.draw(50)
    plain.used(1)
    ahead.draw(50)
    ahead.used(1)
    before = ahead.state().copy()
    ahead.prefetch(4, 50)
    assert ahead.prefetched() == 4
    assert np.array_equal(ahead.state(), before)  # as if not drawn
    for _ in range(3):
        np.testing.assert_array_equal(ahead.draw(50), plain.draw(50))
    ahead.used(2)
    plain.used(2)
    np.testing.assert_array_equal(ahead.state(), plain.state())
    ahead.rewind_unused()  # the third draw was never used: drawn again, with the rest
    plain.rewind_unused()
    assert ahead.prefetched() == 0
    np.testing.assert_array_equal(ahead.draw(50), plain.draw(50))
    ahead.prefetch(3, 50)
    np.testing.assert_array_equal(ahead.draw(60), plain.draw(60))  # another size: forgotten
    assert ahead.prefetched() == 0
    ahead.prefetch(2, 60)
    state = plain.state().copy()
    ahead.set_state(state)
    assert ahead.prefetched() == 0
    other = SeededOrder(0)
    other.set_state(state)
    np.testing.assert_array_equal(ahead.draw(60), other.draw(60))


def test_a_run_whose_orders_were_drawn_ahead_is_the_same_run(sample, process):
    """Orders drawn between runs (the window does it while idle) give the child the very
    batches it would have had."""
    spec, task, config = CASES["chapter neuron"]
    data = make_task_data(sample, task)
    here, there = Trainer(spec, data, config), Trainer(spec, data, config)
    list(here.run(2))
    list(process.run(there, 2, process.control()))
    there.order.prefetch(config.epochs, data.n_train)
    assert there.order.prefetched() == config.epochs
    expected = list(here.run())
    got = events_of(process.run(there, config.epochs, process.control()))
    assert losses(got) == losses(expected)
    assert there.order.prefetched() == 0
    assert_same_trainers(here, there)


def test_the_child_reports_what_it_holds_just_before_the_end():
    """EndNear: the steps held since the last report go out once, ``lead`` seconds before
    the end at the run's pace, so that the end's own report is small (the chapter's end
    found ~400 steps and 150 snapshots held, 4 ms for the window to read after the last
    step); never in slow motion, never twice, never at or after the end."""
    from biasviz.core.train_process import EndNear

    now = [0.0]
    end = EndNear(1000, lead=0.006, clock=lambda: now[0])
    assert not end.due(0)  # the first step starts the clock
    now[0] = 0.05
    assert not end.due(500)  # 500 steps in 50 ms: 50 ms left
    now[0] = 0.0935
    assert not end.due(935)  # 65 steps left: 6.5 ms
    now[0] = 0.094
    assert end.due(940)  # 60 steps left: 6.0 ms
    now[0] = 0.095
    assert not end.due(950)  # once
    slow = EndNear(10, clock=lambda: now[0])
    slow.due(0)
    now[0] = 10.0
    assert not slow.due(9, delay=1.0)  # slow motion: every step goes on its own anyway
    over = EndNear(10, clock=lambda: now[0])
    over.due(0)
    now[0] = 10.001
    assert not over.due(10)  # the end itself: its own report follows


def test_the_child_trains_on_while_the_parent_reads():
    """The child's messages are pickled at once and written by its sender thread: a
    report of the chapter's (~600 KB) had the training wait 1-6 ms for the window's relay
    to make room in the pipe (~10 ms of a 70 ms run).  The order stays; once SEND_AHEAD
    wait their turn the training waits too; closing sends what is left."""
    import pickle
    import threading
    import time

    from biasviz.core.train_process import SEND_AHEAD, _Child

    gate = threading.Event()
    written: list = []

    class SlowPipe:  # the parent, not reading until the gate opens
        def send_bytes(self, data) -> None:
            gate.wait()
            written.append(pickle.loads(bytes(data)))

    child = _Child(cmd=None, evt=SlowPipe())
    rows = np.arange(3.0)
    started = time.perf_counter()
    child.send(("report", rows))  # taken by the sender thread, which waits at the gate
    rows[:] = -1  # (reused by the training once send returns: what was sent stays)
    for i in range(SEND_AHEAD):
        child.send(("report", i))
    assert time.perf_counter() - started < 2.0  # none of them waited for the parent
    late = threading.Thread(target=child.send, args=(("done", "last"),))
    late.start()
    late.join(0.3)
    assert late.is_alive()  # the queue is full: the training waits now
    gate.set()
    late.join(5)
    child.close_sending()
    assert [m[0] for m in written] == ["report"] * (SEND_AHEAD + 1) + ["done"]
    assert list(written[0][1]) == [0.0, 1.0, 2.0]
    assert [m[1] for m in written[1:-1]] == list(range(SEND_AHEAD))
    assert not child._sender.is_alive()


def test_orders_drawn_ahead_in_slices_are_the_same_orders():
    """The window draws ahead in slices of a few ms (a whole prefetch of the chapter's
    655 orders is ~0.1 s of numpy): a slice stops when its time is up, says whether all
    are drawn, and the orders are those of one prefetch."""
    from biasviz.core.train_loop import SeededOrder

    sliced, whole = SeededOrder(3), SeededOrder(3)
    assert sliced.prefetch(5, 40, budget=0.0) is False and sliced.prefetched() == 1
    slices = 1
    while not sliced.prefetch(5, 40, budget=0.0):
        slices += 1
    assert sliced.prefetched() == 5 and slices == 4
    assert whole.prefetch(5, 40) is True
    for _ in range(6):
        np.testing.assert_array_equal(sliced.draw(40), whole.draw(40))
