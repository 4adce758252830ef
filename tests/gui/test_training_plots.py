"""The live curves stay cheap to draw however long the run (issue 14)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pyqtgraph as pg
import pytest
from plot_probes import count_tick_layouts
from PySide6.QtWidgets import QApplication

from biasviz.core.history import TrainingHistory
from biasviz.gui.training_plots import TrainingPlots


def _steps(first: int, n: int, rng) -> list:
    return [SimpleNamespace(step=s, loss=float(2 * np.exp(-s / 3000) + 0.3 * rng.random()),
                            bias=None) for s in range(first, first + n)]


@pytest.fixture
def plots(qtbot):
    p = TrainingPlots()
    qtbot.addWidget(p)
    p.resize(900, 260)
    p.show()
    qtbot.waitExposed(p)
    return p


def test_a_long_loss_curve_is_drawn_at_about_a_sample_per_pixel_peaks_kept(plots):
    rng = np.random.default_rng(3)
    history = TrainingHistory()
    history.add_steps(_steps(1, 6000, rng))
    spike = _steps(6001, 40, rng)
    spike[0].loss = 9.0  # one spike in the newest steps: a learner must still see it
    history.add_steps(spike)
    assert float(np.max(history.loss.y)) == 9.0
    plots.show_history(history)
    QApplication.processEvents()
    n_points = len(history.loss)
    assert n_points > 1500  # the history keeps far more points than the plot has pixels
    width_px = plots.loss_plot.getPlotItem().getViewBox().width()
    x, y = plots.raw_curve.curve.getData()
    assert 0 < len(x) <= 2.5 * width_px < n_points
    assert float(np.max(y)) == pytest.approx(9.0)
    sx, _sy = plots.smooth_curve.curve.getData()
    assert 0 < len(sx) <= 2.5 * width_px


def test_new_points_repaint_the_curves_but_not_the_unchanged_axes(plots):
    rng = np.random.default_rng(4)
    history = TrainingHistory()
    history.add_steps(_steps(1, 500, rng))
    plots.show_history(history)
    QApplication.processEvents()
    plots.loss_plot.viewport().repaint()
    axis = plots.loss_plot.getPlotItem().getAxis("left")
    drawn = count_tick_layouts(axis)

    def repaint_with_forgotten_axis_drawing() -> None:
        axis.picture = None  # were the axis painted, it would have to draw itself anew
        QApplication.processEvents()
        plots.loss_plot.viewport().repaint()

    history.add_steps(_steps(501, 5, rng))  # within the axes' ranges
    plots.show_history(history)
    repaint_with_forgotten_axis_drawing()
    assert drawn == []  # the curve changed, the axis came from its cached pixmap
    assert plots.raw_curve.curve.getData()[0][-1] > 500  # the new points are drawn
    history.add_steps([SimpleNamespace(step=506, loss=50.0, bias=None)])  # the y range grows
    plots.show_history(history)
    repaint_with_forgotten_axis_drawing()
    assert drawn  # a changed axis is drawn again


def test_the_epoch_curves_are_redrawn_only_when_an_epoch_ends(plots):
    rng = np.random.default_rng(5)
    history = TrainingHistory()
    history.add_steps(_steps(1, 50, rng))
    history.add_epochs([SimpleNamespace(epoch=1, step=50, valid_loss=0.5, valid_accuracy=0.8)])
    plots.show_history(history)
    calls = []
    set_data = plots.acc_curve.setData
    plots.acc_curve.setData = lambda *a, **k: (calls.append(1), set_data(*a, **k))[1]
    history.add_steps(_steps(51, 10, rng))
    plots.show_history(history)
    assert calls == [] and plots.epochs == [(1, 50, 0.5, 80.0)]
    history.add_epochs([SimpleNamespace(epoch=2, step=100, valid_loss=0.4, valid_accuracy=0.9)])
    plots.show_history(history)
    assert calls == [1] and [e[0] for e in plots.epochs] == [1, 2]
    history.clear()
    plots.show_history(history)
    assert plots.epochs == [] and "%" not in plots.acc_key.text


def test_the_loss_axes_are_not_half_empty(plots):
    history = TrainingHistory()
    history.add_steps([SimpleNamespace(step=s, loss=0.69, bias=None) for s in range(1, 2601)])
    plots.show_history(history)
    (_x_lo, x_hi), (_y_lo, y_hi) = plots.loss_plot.getPlotItem().viewRange()
    assert 0.69 < y_hi <= 1.0  # the whole curve, not far below the top
    assert 2600 <= x_hi <= 3000  # 2,600 steps on an axis to 3,000, not 5,000


def test_a_loss_that_shot_up_is_drawn_on_a_log_axis(plots):
    """lr 100 on an MLP: the loss shot to 500 million, then stayed at 42.5; on a linear
    axis to "500M" the plateau the diagnosis spoke of was a line at 0 (a learner walk)."""
    history = TrainingHistory()
    spike = [2.3, 40.0, 3e4, 5e8, 2e6, 900.0]
    history.add_steps([SimpleNamespace(step=s, loss=v, bias=None)
                       for s, v in enumerate(spike, 1)])
    history.add_steps([SimpleNamespace(step=s, loss=42.5 + 0.1 * (s % 7), bias=None)
                       for s in range(len(spike) + 1, 3000)])
    plots.show_history(history)
    QApplication.processEvents()
    assert plots.loss_log_scale
    assert "log scale" in plots.loss_plot.getPlotItem().getAxis("left").labelText
    _x, (lo, hi) = plots.loss_plot.getPlotItem().viewRange()
    assert lo <= np.log10(2.3) and hi >= np.log10(5e8)  # log10 units: both in view
    assert hi - lo <= 10
    # the trend follows the plateau within steps of the spike (a plain average of 5·10⁸
    # and 42 came down over 150 steps, a slope the run never had)
    sx, sy = plots.smooth_curve.getData()
    assert np.all(np.isfinite(sy)) and float(sy[np.searchsorted(sx, 60)]) < 100
    # a new run starts on a linear axis again
    plots.clear()
    assert not plots.loss_log_scale
    assert plots.loss_plot.getPlotItem().getAxis("left").labelText == "loss"
    ordinary = TrainingHistory()
    ordinary.add_steps(_steps(1, 500, np.random.default_rng(1)))
    plots.show_history(ordinary)
    assert not plots.loss_log_scale


def _pinned(history) -> dict:
    return {"smoothed": (history.smoothed.x, 0.9 * history.smoothed.y),
            "accuracy": (history.accuracy.x, 0.9 * history.accuracy.y)}


@pytest.mark.parametrize("size", [(980, 200), (840, 150), (600, 100), (420, 90)])
def test_no_key_or_value_label_covers_the_curves_and_none_is_cut(qtbot, size):
    """Walk-through S (issue 10): a flat loss ran under the legend's pale box in a plot
    70-100 px high, and the accuracy's value label was drawn over its curve."""
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.resize(*size)
    plots.show()
    qtbot.waitExposed(plots)
    history = TrainingHistory()
    history.add_steps([SimpleNamespace(step=s, loss=0.69, bias=None) for s in range(1, 4001)])
    history.add_epochs([SimpleNamespace(epoch=e, step=40 * e, valid_loss=0.69,
                                        valid_accuracy=0.5 + e / 1000) for e in range(1, 101)])
    plots.show_history(history)
    for pinned in (False, True):
        if pinned:
            plots.show_pinned(_pinned(history), "pinned: lr 1, init zeros", "now: lr 0.1")
        QApplication.processEvents()
        for plot, key in ((plots.loss_plot, plots.loss_key), (plots.acc_plot, plots.acc_key)):
            item = plot.getPlotItem()
            vb = item.getViewBox()
            # nothing drawn over the data but the curves and the moment line
            assert item.legend is None
            assert not [i for i in vb.addedItems if isinstance(i, pg.TextItem)]
            text = key.label.item
            shown = text.mapRectToScene(text.boundingRect())
            assert not shown.intersects(vb.sceneBoundingRect()), (size, key.text)
            # the whole row is inside the plot's widget: nothing cut
            assert shown.left() >= 0 and shown.right() <= plot.viewport().width() + 1, size
            assert shown.top() >= 0
        assert "60.0%" in plots.acc_key.text  # the last accuracy, in the title row
        if pinned:
            assert plots.loss_key.names[2] == "pinned: lr 1, init zeros"
            assert "pinned: lr 1, init zeros" in plots.acc_key.text.replace("&nbsp;", " ")


def test_curves_are_one_pixel_lines_and_wider_on_a_projector(qtbot):
    """One-pixel lines are Qt's fast path (any other width is stroked into a polygon: the
    plots' paint took 10 ms instead of 1.1 with 9,800 steps); presentation mode draws
    them wider, the raw batch losses thinner than the rest."""
    from biasviz.gui.training_plots import TrainingPlots

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    curves = (plots.raw_curve, plots.smooth_curve, plots.valid_loss_curve, plots.acc_curve)
    assert all(c.opts["pen"].widthF() == 1.0 for c in curves)
    plots.set_line_width(3)
    raw, smooth, valid, acc = (c.opts["pen"].widthF() for c in curves)
    assert smooth == valid == acc == 3.0 and 1.0 < raw < smooth
    plots.set_line_width(None)
    assert all(c.opts["pen"].widthF() == 1.0 for c in curves)


@pytest.fixture
def app_look():
    """The app's pyqtgraph look (main_window sets it on import: white, antialiased),
    set here whichever tests ran before, and put back afterwards."""
    names = ("background", "foreground", "antialias")
    before = {n: pg.getConfigOption(n) for n in names}
    pg.setConfigOptions(background="w", foreground=(40, 40, 40), antialias=True)
    yield
    pg.setConfigOptions(**before)


def _blue_columns(plots: TrainingPlots, steps: np.ndarray) -> float:
    """Share of the pixel columns under the loss curves where the smoothed trend's blue
    shows (a pixel much bluer than red: the grey curves, the grid and the orange points
    are not)."""
    vb = plots.loss_plot.getPlotItem().getViewBox()
    view = plots.loss_plot
    image = view.grab().toImage()
    rect = view.mapFromScene(vb.sceneBoundingRect()).boundingRect()
    left = view.mapFromScene(vb.mapViewToScene(pg.Point(float(steps[0]), 0.0))).x() + 2
    right = view.mapFromScene(vb.mapViewToScene(pg.Point(float(steps[-1]), 0.0))).x() - 2
    shown = 0
    for x in range(left, right + 1):
        for y in range(rect.top() + 1, rect.bottom()):
            c = image.pixelColor(x, y)
            if c.blue() - c.red() >= 50:
                shown += 1
                break
    return shown / max(1, right - left + 1)


def test_the_smoothed_loss_shows_over_a_flat_raw_loss_and_a_pinned_run(qtbot, app_look):
    """A flat loss (learning rate 1e-6, a saturated neuron): the batches' losses, the
    trend and a pinned run of the same flat loss lie on one line; the trend must show
    along all of it, not only between the pinned run's dashes."""
    from biasviz.gui.training_plots import SMOOTH_COLOR

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.resize(900, 260)
    plots.show()
    qtbot.waitExposed(plots)
    rng = np.random.default_rng(5)
    steps = np.arange(1, 1201)
    history = TrainingHistory()
    history.add_steps([SimpleNamespace(step=int(s), loss=0.5 + 0.002 * rng.standard_normal(),
                                       bias=None) for s in steps])
    history.add_epochs([SimpleNamespace(epoch=e, step=300 * e, valid_loss=0.3,
                                        valid_accuracy=0.5) for e in range(1, 5)])
    plots.show_history(history)
    plots.show_pinned({"smoothed": (history.smoothed.x, history.smoothed.y.copy()),
                       "accuracy": (history.accuracy.x, history.accuracy.y.copy())},
                      "pinned", "now")
    QApplication.processEvents()
    assert _blue_columns(plots, steps) > 0.95
    # stacking, bottom to top: batches, the pinned run, the trend, the validation points
    stack = plots.loss_plot.getPlotItem().getViewBox().childGroup.childItems()
    pinned_loss, pinned_acc = plots._pinned_curves
    order = [stack.index(c) for c in (plots.raw_curve, pinned_loss, plots.smooth_curve,
                                      plots.valid_loss_curve)]
    assert order == sorted(order)
    acc_stack = plots.acc_plot.getPlotItem().getViewBox().childGroup.childItems()
    assert acc_stack.index(pinned_acc) < acc_stack.index(plots.acc_curve)
    # still one-pixel pens (the fast path), the trend dark against the light batches
    assert plots.smooth_curve.opts["pen"].widthF() == 1.0
    assert plots.raw_curve.opts["pen"].widthF() == 1.0
    raw = plots.raw_curve.opts["pen"].color().getRgb()[:3]
    assert tuple(plots.smooth_curve.opts["pen"].color().getRgb()[:3]) == SMOOTH_COLOR
    assert _contrast(SMOOTH_COLOR, raw) >= 4.0


def _contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG contrast ratio of two sRGB colours (1 to 21)."""
    def luminance(rgb):
        lin = [(c / 255 / 12.92) if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4
               for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_a_new_value_in_the_title_lays_out_only_the_form_shown(qtbot):
    """The accuracy in a title changes every epoch: the form shown is laid out again,
    not every longer one first (each is html laid out, ~0.3 ms); a shorter text (after a
    reset) tries them all again, and the longest that fits comes back."""
    from biasviz.gui.plot_style import KeyEntry, PlotKey

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.resize(330, 200)
    plot.show()
    qtbot.waitExposed(plot)

    def titles(value: str) -> tuple[str, ...]:
        return (f"Validation accuracy on the images: {value}", f"Accuracy: {value}", value)

    key = PlotKey(plot, titles("—"))
    key.set_entries([KeyEntry("validation accuracy", "valid", (0, 120, 80))])
    key.set_titles(titles("96.0% after epoch 20"))
    shown = key.form
    assert shown > 0  # the longest does not fit 330 px
    laid_out: list[str] = []
    original = key.label.setText
    key.label.setText = lambda text, **kw: (laid_out.append(text), original(text, **kw))
    key.set_titles(titles("96.5% after epoch 21"))
    assert key.form == shown and len(laid_out) == 1
    laid_out.clear()
    key.set_titles(titles("—"))  # shorter: from the longest form again
    assert len(laid_out) >= 1 and key.form <= shown
    assert "Validation accuracy" in laid_out[0]


def test_the_accuracy_title_is_the_moment_s_while_the_timeline_shows_one(plots):
    """Scrubbed or replayed to a step, the title gives the accuracy of the last epoch done
    by then (it said the run's final one beside views of an earlier step); back at the
    present, the last epoch's."""
    rng = np.random.default_rng(6)
    history = TrainingHistory()
    history.add_steps(_steps(1, 30, rng))
    history.add_epochs([SimpleNamespace(epoch=e, step=10 * e, valid_loss=0.5,
                                        valid_accuracy=acc)
                        for e, acc in ((1, 0.612), (2, 0.835), (3, 0.96))])
    plots.show_history(history)
    assert "96.0%" in plots.acc_key.text
    plots.show_moment(17, 1.7)
    assert "61.2%" in plots.acc_key.text and "96.0%" not in plots.acc_key.text
    plots.show_moment(25, 2.5)
    assert "83.5%" in plots.acc_key.text
    plots.show_moment(5, 0.5)  # before the first epoch ended: no accuracy yet
    assert "%" not in plots.acc_key.text
    plots.show_moment(None, None)
    assert "96.0%" in plots.acc_key.text


def _drawn_labels(axis) -> list[str]:
    from PySide6.QtGui import QImage, QPainter

    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    painter.setFont(axis.style["tickFont"] or axis.font())
    try:
        return [text for _rect, _flags, text in axis.generateDrawSpecs(painter)[2] if text]
    finally:
        painter.end()


@pytest.mark.parametrize("height, scale", [(300, 1.0), (160, 1.0), (160, 1.6)])
def test_the_accuracy_axis_labels_0_and_100_whatever_its_height_and_font(qtbot, height,
                                                                          scale):
    """The axis draws no label that crosses its ends: with a fixed 0–108 range the "0"
    never showed and the "100" went in presentation mode at 1366×768 (walk-through)."""
    from PySide6.QtGui import QFont

    from biasviz.gui.plot_style import scale_plot_text

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.resize(900, height)
    plots.show()
    qtbot.waitExposed(plots)
    scale_plot_text(plots, scale, QFont(plots.font()))
    plots.set_line_width(3 if scale != 1.0 else None)
    QApplication.processEvents()
    labels = _drawn_labels(plots.acc_plot.getPlotItem().getAxis("left"))
    assert labels[0] == "0" and labels[-1] == "100" and len(labels) >= 3, labels
    lo, hi = plots.acc_plot.getPlotItem().vb.viewRange()[1]
    assert lo < 0 and hi > 100


@pytest.mark.parametrize("epochs", [3, 10, 40])
def test_the_accuracy_axis_counts_whole_epochs(plots, epochs):
    """pyqtgraph put ticks at 0.5, 1.5, 2.5 on a 3-epoch run (walk-through of session 8)."""
    plots.plan_run(epochs * 10, epochs)
    QApplication.processEvents()
    labels = _drawn_labels(plots.acc_plot.getPlotItem().getAxis("bottom"))
    assert labels and all(float(t) == int(float(t)) for t in labels), labels
