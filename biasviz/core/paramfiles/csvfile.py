""".csv (export only): the *first layer* (:func:`~biasviz.core.spec.first_layer`), one row
per neuron (or CNN kernel), header ``neuron,bias,w0,w1,...``."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import IO

from biasviz.core.paramfiles.jsonfile import float_texts
from biasviz.core.paramfiles.model_file import ModelFile
from biasviz.core.spec import ModelKind, first_layer


def neuron_labels(mf: ModelFile, n: int) -> list[str]:
    """Row labels: class names for output neurons, indexes for hidden neurons/kernels."""
    names = mf.metadata.get("class_names")
    names = [str(c) for c in names] if isinstance(names, list) else None
    if mf.spec.kind is ModelKind.LINEAR:
        return names if names and len(names) == n else [str(i) for i in range(n)]
    if mf.spec.kind is ModelKind.SINGLE:
        # The single neuron's logit says "the first class": label it with that name.
        return [names[0]] if names else ["0"]
    return [str(i) for i in range(n)]


def write_csv(mf: ModelFile) -> Callable[[IO[bytes]], None]:
    weights, biases = first_layer(mf.params, mf.spec)
    labels = neuron_labels(mf, weights.shape[0])
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["neuron", "bias"] + [f"w{i}" for i in range(weights.shape[1])])
    bias_text = float_texts(biases).tolist()
    weight_text = float_texts(weights).tolist()
    for label, b, w in zip(labels, bias_text, weight_text, strict=True):
        out.writerow([label, b, *w])
    data = buf.getvalue().encode("utf-8")

    def write(fh: IO[bytes]) -> None:
        fh.write(data)

    return write
