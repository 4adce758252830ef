"""Presentation mode makes every text on the Neuron tab bigger, labels and plots alike,
and leaving gives back exactly the sizes there were (walk-through: the small labels and
the plots' text shrank relative to the rest)."""

import pyqtgraph as pg
from PySide6.QtWidgets import QLabel

from biasviz.gui.presentation import SCALE


def _size(font) -> float:
    return font.pointSizeF() if font.pointSizeF() > 0 else font.pixelSize() * 0.75


def _label_sizes(tab) -> dict:
    return {label: _size(label.font()) for label in tab.findChildren(QLabel)
            if label.isVisibleTo(tab) and label.text()}


def _plot_sizes(tab) -> dict:
    """Each plot's tick font, axis titles and title (html size), by item."""
    sizes = {}
    for view in tab.findChildren(pg.GraphicsView):
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem) and item.isVisible():
                font = item.style["tickFont"] or view.font()
                sizes[(id(item), "ticks")] = _size(font)
                if item.label is not None and item.label.isVisible():
                    sizes[(id(item), "label")] = _size(item.label.font())
            elif isinstance(item, pg.LabelItem) and item.isVisible() and item.text:
                size = item.opts.get("size")
                sizes[(id(item), "title")] = (float(size.rstrip("pt")) if size
                                              else _size(item.item.font()))
    return sizes


def test_every_label_and_plot_text_grows_and_comes_back(qtbot, window):
    w = window
    tab = w.tabs.widget(0)
    qtbot.wait(50)
    labels, plots = _label_sizes(tab), _plot_sizes(tab)
    assert len(labels) > 10 and len(plots) > 6
    # the decision panel's small labels (equation, "bias is a threshold…", confusion
    # headers) are among them, and smaller than the default text
    small = w.decision_panel.explain_label
    assert small in labels and labels[small] < _size(w.font())

    w.presenter.enter()
    qtbot.wait(50)
    big_labels, big_plots = _label_sizes(tab), _plot_sizes(tab)
    not_grown = [(lab.text()[:40], labels[lab], big_labels.get(lab)) for lab in labels
                 if lab in big_labels and not big_labels[lab] > labels[lab] * 1.2]
    assert not not_grown
    assert all(big_plots[k] > plots[k] * 1.2 for k in plots), (plots, big_plots)
    # relative sizes kept: a small label grows by the same factor as the rest
    assert abs(big_labels[small] / labels[small] - SCALE) < 0.1
    # the plots' keys too
    assert "font-size:12.6pt" in w.plots.loss_key.text

    w.presenter.leave()
    qtbot.wait(50)
    after_labels, after_plots = _label_sizes(tab), _plot_sizes(tab)
    assert {lab: after_labels.get(lab) for lab in labels} == labels
    assert after_plots == plots
    assert "font-size:9pt" in w.plots.loss_key.text
