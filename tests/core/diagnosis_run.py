"""A training run with what the window passes to the diagnosis, for the diagnosis tests
(tests/core/test_diagnosis*.py)."""

from __future__ import annotations

from biasviz.core.datasets import to_float
from biasviz.core.diagnosis import Diagnoser, Fix
from biasviz.core.training import EndReason, EpochMetrics, StepMetrics, Trainer, TrainingEnded


class Run:
    """A training run with what the window passes to the diagnosis."""

    def __init__(self, spec, data, config):
        self.spec, self.data, self.config = spec, data, config
        self.trainer = Trainer(spec, data, config)
        self.losses: list[float] = []
        self.accuracies: list[float] = []
        self.diverged = False
        self.x = to_float(data.valid_x[:2000])
        self.y = data.valid_y[:2000]

    def train(self, epochs, on_epoch=None):
        for e in self.trainer.run(epochs):
            if isinstance(e, StepMetrics):
                self.losses.append(e.loss)
            elif isinstance(e, EpochMetrics):
                self.accuracies.append(e.valid_accuracy)
                if on_epoch is not None:
                    on_epoch(self)
            elif isinstance(e, TrainingEnded):
                self.diverged = e.reason is EndReason.DIVERGED
        return self

    def findings(self, diagnoser=None):
        d = diagnoser or Diagnoser()
        return d.diagnose(self.spec, self.config, self.trainer.snapshot().params, self.x,
                          self.y, self.losses, self.accuracies, self.diverged,
                          self.data.target_names())

    def apply(self, fix: Fix):
        """The fix as the window applies it: a new start, or going on from here."""
        spec, config = fix.apply(self.spec, self.config)
        if fix.restart or spec != self.spec:
            return Run(spec, self.data, config)
        self.config = config
        self.trainer.set_config(config)
        return self

    @property
    def accuracy(self):
        return self.trainer.evaluate()[1]
