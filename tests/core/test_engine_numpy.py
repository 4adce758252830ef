"""The numpy engine: its closed-form gradients and updates against torch autograd, and
the trainer on it against the trainer on autograd (same losses, same trajectories)."""

import threading

import numpy as np
import pytest
import torch

from biasviz.core import engine_numpy
from biasviz.core.datasets import Task, load_sample, make_task_data
from biasviz.core.errors import ConfigError
from biasviz.core.models import build_model, snapshot_params
from biasviz.core.spec import ModelSpec, TrainConfig
from biasviz.core.training import (
    EndReason,
    EpochMetrics,
    StepMetrics,
    Trainer,
    TrainingEnded,
    mnist_loss,
)


@pytest.fixture(scope="module")
def sample():
    return load_sample()


@pytest.fixture(scope="module")
def pair(sample):
    return make_task_data(sample, Task.pair(3, 7))


@pytest.fixture(scope="module")
def ten(sample):
    return make_task_data(sample, Task.all_ten())


# Every model the numpy engine trains, with every loss it can have.
MODEL_LOSSES = [
    (dict(kind="single", bias_mode="scalar"), "mnist"),
    (dict(kind="single", bias_mode="scalar"), "bce"),
    (dict(kind="single", bias_mode="per_pixel"), "mnist"),
    (dict(kind="single", bias_mode="per_pixel"), "bce"),
    (dict(kind="single", bias_mode="none"), "mnist"),
    (dict(kind="single", bias_mode="none"), "bce"),
    (dict(kind="linear", n_outputs=10), "ce"),
    (dict(kind="mlp", hidden=16, n_outputs=1), "mnist"),
    (dict(kind="mlp", hidden=16, n_outputs=1), "bce"),
    (dict(kind="mlp", hidden=16, n_outputs=10), "ce"),
]


def _ids(case):
    kw, loss = case
    return f"{kw['kind']}-{kw.get('bias_mode', '')}{kw.get('n_outputs', 1)}-{loss}"


def _torch_loss(loss: str, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if loss == "mnist":
        return mnist_loss(logits, y)
    if loss == "bce":
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, y.float())
    return torch.nn.functional.cross_entropy(logits, y)


def _loss_kind(loss: str) -> engine_numpy.LossKind:
    return {"mnist": engine_numpy.LossKind.MNIST, "bce": engine_numpy.LossKind.BCE,
            "ce": engine_numpy.LossKind.CROSS_ENTROPY}[loss]


def _batch(data, m=64, seed=0):
    idx = np.random.default_rng(seed).choice(data.n_train, m, replace=False)
    return data.train_x[idx], data.train_y[idx]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("case", MODEL_LOSSES, ids=[_ids(c) for c in MODEL_LOSSES])
def test_steps_match_torch_autograd(pair, ten, case, optimizer):
    """Three steps of the numpy engine equal three steps of autograd + torch's optimizer:
    the losses, and the parameters after each step (so the gradients and the update)."""
    kw, loss = case
    spec = ModelSpec(seed=3, init_std=0.3, **kw)
    data = ten if spec.n_outputs == 10 else pair
    lr = 0.5 if optimizer == "sgd" else 0.01
    model = build_model(spec)
    fast = engine_numpy.NumpyModel(spec, snapshot_params(model))
    fast.reset_optimizer(adam=optimizer == "adam")
    params = list(model.parameters())
    opt = (torch.optim.Adam(params, lr=lr) if optimizer == "adam"
           else torch.optim.SGD(params, lr=lr))
    for step in range(3):
        x_u8, y = _batch(data, seed=step)
        # torch: the trainer's arithmetic, autograd for the gradients
        opt.zero_grad()
        expected = _torch_loss(loss, model(torch.from_numpy(x_u8).float() / 255),
                               torch.from_numpy(y))
        expected.backward()
        opt.step()
        # numpy: closed form
        t = y.astype(np.float32) if spec.n_outputs == 1 else None
        got, result = fast.step(x_u8.astype(np.float32), y, t, _loss_kind(loss), lr)
        assert result is engine_numpy.StepResult.OK
        assert got == pytest.approx(float(expected.detach()), rel=1e-5, abs=1e-6)
        for name, p in model.named_parameters():
            want = p.detach().numpy()
            np.testing.assert_allclose(fast.params[name], want, rtol=1e-4, atol=1e-5,
                                       err_msg=f"{name} after step {step + 1}")
    # and the steps did move the first layer's weights
    first = "weights" if "weights" in fast.params else "hidden.weights"
    assert np.abs(fast.last_update[first]).max() > 0


@pytest.mark.parametrize("case", MODEL_LOSSES, ids=[_ids(c) for c in MODEL_LOSSES])
def test_gradients_match_autograd(pair, ten, case):
    """dL/dθ itself: an SGD step with lr 1 makes the update -∇."""
    kw, loss = case
    spec = ModelSpec(seed=5, init_std=0.2, **kw)
    data = ten if spec.n_outputs == 10 else pair
    model = build_model(spec)
    fast = engine_numpy.NumpyModel(spec, snapshot_params(model))
    fast.reset_optimizer(adam=False)
    x_u8, y = _batch(data, m=100, seed=9)
    value = _torch_loss(loss, model(torch.from_numpy(x_u8).float() / 255), torch.from_numpy(y))
    value.backward()
    t = y.astype(np.float32) if spec.n_outputs == 1 else None
    fast.step(x_u8.astype(np.float32), y, t, _loss_kind(loss), 1.0)
    for name, p in model.named_parameters():
        grad = p.grad.numpy()
        assert np.abs(grad).max() > 0, name  # a case where the gradient says something
        np.testing.assert_allclose(-fast.last_update[name], grad,
                                   rtol=1e-3, atol=1e-6 * max(1.0, np.abs(grad).max()),
                                   err_msg=name)


TRAJECTORY_SPECS = [
    dict(kind="single", bias_mode="scalar"),
    dict(kind="single", bias_mode="per_pixel", init_std=0.05),
    dict(kind="single", bias_mode="none"),
    dict(kind="linear", n_outputs=10, init_std=0.1),
    dict(kind="mlp", hidden=32, n_outputs=10, init_std=0.1),
    dict(kind="mlp", hidden=8, n_outputs=1, init_std=0.1),
]


def _run(trainer, steps):
    events = []
    for event in trainer.run(1000):
        events.append(event)
        if isinstance(event, StepMetrics) and event.step >= steps:
            break
    return events


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize(
    "kw", TRAJECTORY_SPECS, ids=lambda kw: f"{kw['kind']}-{kw.get('bias_mode', kw.get('n_outputs'))}"
)
def test_fifty_steps_follow_the_autograd_trajectory(pair, ten, kw, optimizer):
    """Same seed ⇒ the same batches, losses, validation figures and parameters after 50
    steps, on the numpy engine as on autograd (within float32 rounding)."""
    spec = ModelSpec(seed=2, **kw)
    data = ten if spec.n_outputs == 10 else pair
    if optimizer == "adam":
        lr = 0.1 if spec.kind == "single" else 0.01
    else:
        lr = 1.0 if spec.kind == "single" else 0.1
    # batches such that 50 steps cross an epoch's end (its evaluation is compared too)
    config = TrainConfig(lr=lr, optimizer=optimizer, seed=6,
                         batch_size=100 if spec.n_outputs == 10 else 64)
    runs = {}
    for engine in ("torch", "numpy"):
        trainer = Trainer(spec, data, config, engine=engine)
        assert trainer.engine == engine
        runs[engine] = (trainer, _run(trainer, 50))
    (old, old_events), (new, new_events) = runs["torch"], runs["numpy"]
    assert [type(e) for e in old_events] == [type(e) for e in new_events]
    old_steps = [e for e in old_events if isinstance(e, StepMetrics)]
    new_steps = [e for e in new_events if isinstance(e, StepMetrics)]
    assert len(new_steps) == 50
    # Adam divides by the root of the squared gradients, so a rounding difference in a
    # tiny gradient can become a visible step: it gets a looser (still tight) tolerance
    rtol, atol = (1e-4, 1e-5) if optimizer == "sgd" else (2e-3, 1e-4)
    np.testing.assert_allclose([s.loss for s in new_steps], [s.loss for s in old_steps],
                               rtol=rtol, atol=atol)
    if spec.kind == "single" and spec.bias_mode != "none":
        np.testing.assert_allclose([s.bias for s in new_steps], [s.bias for s in old_steps],
                                   rtol=1e-4, atol=1e-4)
    old_epochs = [e for e in old_events if isinstance(e, EpochMetrics)]
    new_epochs = [e for e in new_events if isinstance(e, EpochMetrics)]
    assert len(new_epochs) >= 1
    for a, b in zip(old_epochs, new_epochs, strict=True):
        assert b.valid_loss == pytest.approx(a.valid_loss, rel=rtol, abs=atol)
        assert b.valid_accuracy == pytest.approx(a.valid_accuracy, abs=2 / data.n_valid)
    a, b = old.snapshot(), new.snapshot()
    for name in a.params:
        scale = max(1.0, float(np.abs(a.params[name]).max()))
        np.testing.assert_allclose(b.params[name], a.params[name], rtol=1e-3,
                                   atol=2e-4 * scale, err_msg=name)
        np.testing.assert_allclose(b.last_update[name], a.last_update[name], rtol=1e-2,
                                   atol=2e-4 * scale, err_msg=name)
    assert new.evaluate() == pytest.approx(old.evaluate(), rel=rtol, abs=atol)


def test_auto_engine_is_numpy_except_for_the_cnn(pair):
    assert Trainer(ModelSpec(), pair).engine == "numpy"
    assert Trainer(ModelSpec(kind="mlp", hidden=4), pair).engine == "numpy"
    cnn = Trainer(ModelSpec(kind="cnn", channels=2), pair)
    assert cnn.engine == "torch"
    events = list(cnn.run(1))
    assert events[-1].reason is EndReason.FINISHED
    with pytest.raises(ConfigError, match="numpy engine"):
        Trainer(ModelSpec(kind="cnn"), pair, engine="numpy")
    with pytest.raises(ConfigError, match="engine"):
        Trainer(ModelSpec(), pair, engine="jax")


def test_model_property_shows_the_current_parameters(pair):
    trainer = Trainer(ModelSpec(), pair)
    list(trainer.run(1))
    params = trainer.snapshot().params
    model = trainer.model
    np.testing.assert_array_equal(model.weights.detach().numpy(), params["weights"])
    np.testing.assert_array_equal(model.bias.detach().numpy(), params["bias"])


def test_divergence_is_the_same_on_both_engines_and_keeps_the_last_finite_step(pair):
    ends = {}
    for engine in ("torch", "numpy"):
        trainer = Trainer(ModelSpec(), pair, TrainConfig(lr=1e38, loss="bce"), engine=engine)
        kept = trainer.snapshot().params  # the parameters after the last finite step
        for event in trainer.run(5):
            if isinstance(event, StepMetrics):
                kept = trainer.snapshot().params
            end = event
        assert end.reason is EndReason.DIVERGED
        after = trainer.snapshot()
        for name in kept:
            np.testing.assert_array_equal(after.params[name], kept[name])
        assert after.last_update is None
        ends[engine] = end
    assert ends["numpy"] == ends["torch"]  # same step, same message


def test_after_a_divergence_both_engines_go_on_from_the_huge_parameters_alike(pair):
    """lr 1e38 leaves finite weights near float32's limit.  Scaling the images after the
    first product (the numpy engine's shortcut) would overflow where torch's x/255 first
    does not; the engine then computes it torch's way, so training goes on the same."""
    results = {}
    for engine in ("torch", "numpy"):
        trainer = Trainer(ModelSpec(), pair, TrainConfig(lr=1e38, loss="bce"), engine=engine)
        assert list(trainer.run(2))[-1].reason is EndReason.DIVERGED
        assert float(np.abs(trainer.snapshot().params["weights"]).max()) > 1e37
        trainer.set_config(TrainConfig())
        events = list(trainer.run(1))
        assert events[-1].reason is EndReason.FINISHED, events[-1]
        results[engine] = ([e.loss for e in events if isinstance(e, StepMetrics)],
                           trainer.evaluate())
    np.testing.assert_allclose(results["numpy"][0], results["torch"][0], rtol=1e-4)
    assert results["numpy"][1] == pytest.approx(results["torch"][1], rel=1e-4)


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_diverged_adam_starts_afresh(pair, engine):
    """After a divergence the optimizer's state (which saw the bad step) is dropped, so
    the run can go on from the kept parameters with a smaller learning rate."""
    trainer = Trainer(ModelSpec(), pair, TrainConfig(optimizer="adam", lr=1e38, loss="bce"),
                      engine=engine)
    assert list(trainer.run(1))[-1].reason is EndReason.DIVERGED
    trainer.set_config(TrainConfig(optimizer="adam", lr=0.01, loss="bce"))
    events = list(trainer.run(2))
    assert events[-1].reason is EndReason.FINISHED
    assert all(np.isfinite(e.loss) for e in events if isinstance(e, StepMetrics))


def test_the_finiteness_check_is_exact_near_float32s_limit(pair):
    """A huge but finite bias trains on (the check tightens its bound, then looks
    exactly); an update that would overflow it is refused and changes nothing."""
    spec = ModelSpec()
    params = snapshot_params(build_model(spec))
    params["bias"][0] = 3.0e38  # finite: float32 goes to 3.4e38
    fast = engine_numpy.NumpyModel(spec, params)
    fast.reset_optimizer(adam=False)
    x_u8, y = _batch(pair, m=32)
    x, t = x_u8.astype(np.float32), y.astype(np.float32)
    bce = engine_numpy.LossKind.BCE
    # z ≈ 3e38 for every image: σ = 1, so ∂L/∂b = mean(1 - t) ≈ 0.5 > 0, and a negative
    # learning rate pushes b up by ~0.5e38, past float32's largest value
    assert 0 < np.mean(1 - t) < 1
    with np.errstate(all="ignore"):
        _, refused = fast.step(x, y, t, bce, -1e38)
    assert refused is engine_numpy.StepResult.PARAMS_NOT_FINITE
    for name, a in fast.params.items():
        np.testing.assert_array_equal(a, params[name])
    with np.errstate(all="ignore"):
        _, kept = fast.step(x, y, t, bce, 1e36)  # b down by ~0.5e36: fine
    assert kept is engine_numpy.StepResult.OK
    assert np.isfinite(fast.params["bias"][0]) and fast.params["bias"][0] < 3.0e38


def test_snapshots_from_another_thread_are_never_torn(pair):
    """The per-pixel neuron's 784 biases get the same gradient, so, started equal, they
    stay exactly equal: a snapshot taken half-way through an update would show two
    values.  Snapshots taken while another thread trains must never do that."""
    trainer = Trainer(ModelSpec(bias_mode="per_pixel"), pair, TrainConfig(lr=0.1, batch_size=16))
    params = trainer.snapshot().params
    params["bias"] = np.full(784, 0.01, np.float32)
    trainer.set_params(params)
    done = threading.Event()
    ended: list = []

    def train():
        ended.extend(e for e in trainer.run(40) if isinstance(e, TrainingEnded))
        done.set()

    worker = threading.Thread(target=train)
    worker.start()
    seen = 0
    try:
        while not done.is_set() or seen == 0:
            snap = trainer.snapshot()
            bias = snap.params["bias"]
            assert np.all(bias == bias[0])
            if snap.last_update is not None:
                assert np.all(snap.last_update["bias"] == snap.last_update["bias"][0])
            seen += 1
    finally:
        worker.join(timeout=30)
    assert ended and ended[0].reason is EndReason.FINISHED
    assert seen > 10
    assert trainer.snapshot().params["bias"][0] != pytest.approx(0.01)


def test_batch_source_gathers_the_epoch_order(pair):
    source = engine_numpy.BatchSource(pair.train_x, pair.train_y, True, 100)
    order = np.random.default_rng(1).permutation(pair.n_train)
    source.start_epoch(order)
    last = -(-pair.n_train // 100) - 1
    for b in (0, last):
        idx = order[b * 100 : (b + 1) * 100]
        x, y, t = source.gather(b)
        np.testing.assert_array_equal(x, pair.train_x[idx].astype(np.float32))
        np.testing.assert_array_equal(y, pair.train_y[idx])
        np.testing.assert_array_equal(t, pair.train_y[idx].astype(np.float32))


def _blas_threads():
    from threadpoolctl import threadpool_info

    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_one_blas_thread_while_runs_live_then_restored(pair):
    before = _blas_threads()
    assert before, "numpy's BLAS is visible to threadpoolctl"
    first = engine_numpy.hold_one_blas_thread()
    second = engine_numpy.hold_one_blas_thread()
    assert set(_blas_threads()) == {1}
    first()  # holds may end in any order
    first()  # and ending twice is harmless
    assert set(_blas_threads()) == {1}
    second()
    assert _blas_threads() == before
    # a trainer holds it for the life of its run
    trainer = Trainer(ModelSpec(), pair)
    run = trainer.run(1)
    next(run)
    assert set(_blas_threads()) == {1}
    list(run)
    assert _blas_threads() == before


def test_a_process_started_with_one_blas_thread_takes_no_holds(pair, monkeypatch):
    """The training process starts with OPENBLAS_NUM_THREADS=1: a run there neither
    changes BLAS's threads nor asks threadpoolctl (a fresh process's first look took
    ~12 ms of its first run)."""
    before = _blas_threads()
    monkeypatch.setattr(engine_numpy, "_blas_pinned", True)

    def not_asked():
        raise AssertionError("threadpoolctl asked")

    monkeypatch.setattr(engine_numpy, "blas_controls", not_asked)
    release = engine_numpy.hold_one_blas_thread()
    release()
    run = Trainer(ModelSpec(), pair).run(1)
    next(run)
    list(run)
    monkeypatch.undo()
    assert _blas_threads() == before


def test_the_numpy_engine_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, biasviz.core.engine_numpy; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_end_message_counts_epochs_in_words(pair):
    """'finished 1 epoch', 'finished 2 epochs' (the status bar said 'epoch(s)')."""
    for epochs, words in ((1, "finished 1 epoch"), (2, "finished 2 epochs")):
        end = list(Trainer(ModelSpec(), pair, TrainConfig(epochs=epochs)).run())[-1]
        assert end.message == words
