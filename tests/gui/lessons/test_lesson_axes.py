"""Before Start the side-by-side lessons' plots already span the run Start would begin
(0 to its last step or epoch, accuracy 0–100 %), a curve of one point shows a marker,
and no axis label is cut off (walk-through V: −0.4…0.4 axes around a lone dot)."""

import pytest
from PySide6.QtWidgets import QApplication

from biasviz.gui.lessons.bias_lesson import BiasLesson
from biasviz.gui.lessons.saturation_lesson import SaturationLesson
from biasviz.gui.lessons.zero_init_lesson import ZeroInitLesson


@pytest.fixture(params=["bias", "zero_init", "saturation"])
def lesson(request, show_lesson, data, tmp_path):
    if request.param == "bias":
        return show_lesson(BiasLesson, data)
    if request.param == "zero_init":
        return show_lesson(ZeroInitLesson, data)
    return show_lesson(SaturationLesson, data, None, tmp_path)  # no Fashion folder


def _x_range(plot):
    return plot.getPlotItem().getViewBox().viewRange()[0]


def _spans(plot, end):
    lo, hi = _x_range(plot)
    # from 0 (a little room for a marker there) to the end, not far past it
    return -0.05 * end <= lo <= 0 and end <= hi <= 1.05 * end


def test_plots_span_the_planned_run_before_start(lesson):
    end_step, end_epoch = lesson.planned_end()
    per_epoch = lesson._trainers[0].batches_per_epoch
    assert end_epoch == lesson.epochs_spin.value()
    assert end_step == end_epoch * per_epoch
    assert lesson._step_plots and lesson._epoch_plots
    for plot in lesson._step_plots:
        assert _spans(plot, end_step), (plot.getPlotItem().titleLabel.text, _x_range(plot))
    for plot in lesson._epoch_plots:
        assert _spans(plot, end_epoch), _x_range(plot)
    lo, hi = lesson.acc_plot.getPlotItem().getViewBox().viewRange()[1]
    assert lo <= 0 and 100 <= hi <= 130  # 0–100 and room for the end labels, no more
    # more epochs: a longer run planned, the axes follow
    lesson.epochs_spin.setValue(end_epoch + 3)
    for plot in lesson._epoch_plots:
        assert _spans(plot, end_epoch + 3)
    for plot in lesson._step_plots:
        assert _spans(plot, (end_epoch + 3) * per_epoch)


def test_a_curve_of_one_point_has_a_marker(lesson):
    curves = [c for plot in (*lesson._step_plots, *lesson._epoch_plots)
              for c in plot.getPlotItem().listDataItems()]
    singles = [c for c in curves if c.getData()[0] is not None and len(c.getData()[0]) == 1]
    assert singles  # every lesson shows its start (step 0 / epoch 0) as one point
    for curve in singles:
        assert curve.opts["symbol"] is not None


def test_axis_labels_fit_their_plots(lesson):
    plots = [w for w in vars(lesson).values() if hasattr(w, "getPlotItem")]
    assert len(plots) >= 2
    for plot in plots:
        # at the smallest height the lesson may give the plot
        plot.resize(max(plot.minimumWidth(), 300), plot.minimumHeight())
        QApplication.processEvents()
        axis = plot.getAxis("left")
        if not axis.label.isVisible():  # the title says what the axis measures
            continue
        doc = axis.label.document()  # the label is drawn turned by 90°
        text = doc.idealWidth() - 2 * doc.documentMargin()
        assert text <= axis.geometry().height(), (axis.labelText, text,
                                                  axis.geometry().height())


def test_zero_init_plots_name_their_y_axis_in_the_title(show_lesson, data):
    """Walk-through 13: on a laptop the zero-init plots sit half below the fold and their
    turned y-axis titles read "st difference" and "curacy".  They have none: the plot's
    title says what is measured, whole at the narrowest column the lesson allows."""
    lesson = show_lesson(ZeroInitLesson, data)
    for plot, words in ((lesson.sym_plot, "Largest difference"),
                        (lesson.acc_plot, "accuracy in %")):
        assert not plot.getAxis("left").label.isVisible()
        title = plot.getPlotItem().titleLabel
        assert words in title.text
        plot.resize(330, plot.minimumHeight())  # the lesson's column floor
        QApplication.processEvents()
        assert title.item.boundingRect().width() <= plot.width() - 20, title.text
