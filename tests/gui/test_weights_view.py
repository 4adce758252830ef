"""WeightsView (neurons' weights as pictures, painting) and WeightHistogram."""

from __future__ import annotations

import numpy as np
import pytest
from plot_probes import tick_layout
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from biasviz.gui.plot_style import nice_ceiling, steady_range
from biasviz.gui.weight_histogram import WeightHistogram
from biasviz.gui.weights_view import (
    HOVER_HINT,
    MAX_TILES,
    WeightsView,
    best_grid,
    format_value,
    grid_shape,
    weight_colours,
)


@pytest.fixture
def rng():
    return np.random.default_rng(1)


@pytest.fixture
def view(qtbot):
    w = WeightsView()
    qtbot.addWidget(w)
    w.resize(500, 450)
    return w


def shown(qtbot, w):
    w.show()
    qtbot.waitExposed(w)
    QApplication.processEvents()
    return w


def single(view, rng, bias=-0.42):
    weights = rng.normal(0, 1, 784).astype(np.float32)
    view.set_neurons(weights[None], np.array([bias]), ["3 vs 7"])
    return weights


# -- helpers ------------------------------------------------------------------------
def test_grid_shape_is_near_square_and_full_when_possible():
    assert grid_shape(1) == (1, 1)
    assert grid_shape(10) == (2, 5)
    assert grid_shape(32) == (4, 8)
    assert grid_shape(8) == (2, 4)
    assert grid_shape(256) == (16, 16)
    rows, cols = grid_shape(7)
    assert rows * cols >= 7 and abs(rows - cols) <= 1


def test_best_grid_fits_the_area_and_every_tile():
    for k in (2, 3, 7, 10, 32, 64, 100, 256):
        for w, h in ((400, 400), (800, 200), (200, 800)):
            rows, cols = best_grid(k, w, h, 0.18, 1.5)
            assert rows * cols >= k and rows * cols - k < cols
    # a wide area gets more columns than a tall one
    assert best_grid(10, 900, 200, 0.18, 1.5)[1] > best_grid(10, 200, 900, 0.18, 1.5)[1]


def test_format_value():
    assert format_value(0.123) == "+0.123"
    assert format_value(-1.5) == "\u22121.500"  # the typographic minus of every other view
    assert format_value(-0.0004) == "\u22124.0 × 10⁻⁴"
    assert format_value(0.0) == "0.000"
    assert format_value(2e-5) == "+2.0 × 10⁻⁵"
    assert format_value(-9.1e7) == "\u22129.1 × 10⁷"  # lr 100's weights, not 17 digits


# -- single neuron ------------------------------------------------------------------
def test_single_neuron_image_shows_the_weights_as_a_digit(view, rng):
    weights = single(view, rng)
    assert view.tile_count() == 1
    np.testing.assert_array_equal(view.tile_values(0), weights.reshape(28, 28))
    assert view.view_box().yInverted()  # row 0 at the top, like the digit
    m = float(np.abs(weights).max())
    lo, hi = view.levels()
    assert lo == pytest.approx(-m) and hi == pytest.approx(m)
    # painted row-major (image[row, column]) through the colour map at those levels
    colours = view.tile_colours(0)
    np.testing.assert_array_equal(colours, weight_colours(weights.reshape(28, 28), (-m, m),
                                                          view._lut))
    np.testing.assert_allclose(view.color_bar().levels(), [-m, m], rtol=1e-6)
    np.testing.assert_array_equal(view.current_weights(), weights[None])


def test_single_neuron_bias_readout_and_note(view, rng):
    single(view, rng, bias=1.234)
    assert view.bias_text() == "bias b = +1.234"
    view.set_note("This is Σbᵢ, the sum of 784 per-pixel biases.")
    assert "Σbᵢ" in view.note_text()
    view.set_neurons(np.zeros((1, 784)), None, ["no bias"])
    assert view.bias_text() == "no bias"


def test_all_zero_weights_keep_a_sane_symmetric_scale(view):
    view.set_neurons(np.zeros((1, 784)), np.zeros(1), ["zeros"])
    lo, hi = view.levels()
    assert lo == -hi and hi > 0


def test_non_finite_weights_do_not_break_the_scale(qtbot, view, rng):
    weights = rng.normal(0, 1, 784).astype(np.float32)
    weights[5], weights[6] = np.nan, np.inf
    view.set_neurons(weights[None], np.zeros(1), ["diverged"])
    shown(qtbot, view)
    view.grab()
    m = float(np.abs(np.delete(weights, [5, 6])).max())
    assert view.levels() == pytest.approx((-m, m))
    assert "nan" in view.hover_at(5.5, 0.5)


def test_painting_rescales_the_colours(view):
    view.set_neurons(np.zeros((1, 784)), np.zeros(1), ["a"])
    view.set_paint_mode("add")
    view.set_brush(1.0, 0.75)
    view.paint_at(3.5, 3.5)
    assert view.levels() == pytest.approx((-0.75, 0.75))
    np.testing.assert_allclose(view.color_bar().levels(), (-0.75, 0.75))


def test_set_neurons_copies_its_input(view, rng):
    weights = rng.normal(0, 1, (1, 784)).astype(np.float32)
    view.set_neurons(weights, np.zeros(1), ["a"])
    weights[0, 0] = 99.0
    assert view.current_weights()[0, 0] != 99.0


def test_bad_shapes_are_rejected(view):
    with pytest.raises(ValueError):
        view.set_neurons(np.zeros((2, 100)), np.zeros(2), ["a", "b"])
    with pytest.raises(ValueError):
        view.set_neurons(np.zeros((2, 784)), np.zeros(3), ["a", "b"])


# -- grids --------------------------------------------------------------------------
def test_grid_of_ten_tiles_has_labels_with_biases(qtbot, view, rng):
    weights = rng.normal(0, 1, (10, 784)).astype(np.float32)
    biases = np.linspace(-0.5, 0.5, 10)
    view.set_neurons(weights, biases, [str(d) for d in range(10)], title="Ten neurons")
    shown(qtbot, view)
    assert view.tile_count() == 10
    rows, cols = view.grid()
    assert rows * cols >= 10
    assert view.tile_label(3) == f"3  b={biases[3]:+.2f}".replace("-", "\u2212")
    assert view.tile_label(0) == "0  b=\u22120.50"  # the typographic minus
    # at 500×450 there is room for the full labels
    assert view.tile_label_shown(3) == view.tile_label(3)
    m = float(np.abs(weights).max())
    assert view.levels() == pytest.approx((-m, m))
    for i in range(10):
        np.testing.assert_array_equal(view.tile_values(i), weights[i].reshape(28, 28))
        np.testing.assert_array_equal(
            view.tile_colours(i), weight_colours(weights[i].reshape(28, 28), (-m, m), view._lut))


def test_the_screen_shows_each_tile_where_it_is_and_upright(qtbot, view, rng):
    """What is painted: each tile's pixel (row, column) on screen has its colour."""
    weights = rng.normal(0, 1, (10, 784)).astype(np.float32)
    weights[:, 0] = 3.0  # the top-left pixel of every tile deep red, the scale's top
    weights[:, 783] = -3.0  # the bottom-right deep blue
    view.set_neurons(weights, np.zeros(10), [str(d) for d in range(10)])
    shown(qtbot, view)
    plot = view.plot_widget()
    image = plot.grab().toImage()
    ratio = image.devicePixelRatio()
    checked = 0
    for i in (0, 4, 9):
        for r, c in ((0, 0), (27, 27), (14, 3)):
            x, y = view.tile_origin(i)
            scene = view.view_box().mapViewToScene(QPointF(x + c + 0.5, y + r + 0.5))
            at = plot.mapFromScene(scene)
            shown_rgb = image.pixelColor(int(at.x() * ratio), int(at.y() * ratio))
            want = view.tile_colours(i)[r, c]
            assert abs(shown_rgb.red() - int(want[0])) <= 3
            assert abs(shown_rgb.green() - int(want[1])) <= 3
            assert abs(shown_rgb.blue() - int(want[2])) <= 3
            checked += 1
    assert checked == 9
    red, blue = view.tile_colours(4)[0, 0], view.tile_colours(4)[27, 27]
    assert red[0] > red[2] and blue[2] > blue[0]


def test_tiles_take_the_label_rows_when_labels_cannot_show(qtbot, view, rng):
    """64 hidden neurons in a small view: labels would be illegible, so no empty label
    rows: the tiles are bigger.  In a big view the labels show, with room above tiles."""
    weights = rng.normal(0, 1, (64, 784))
    view.set_neurons(weights, np.zeros(64), [str(i) for i in range(64)])
    view.resize(300, 220)
    shown(qtbot, view)
    small = view.tile_scene_rect(0).height()
    assert view.tile_label_shown(0) == ""
    x0, y0 = view.tile_origin(0)
    x8, y8 = view.tile_origin(view.grid()[1])  # the first tile of the second row
    assert (y8 - y0) < 28 * 1.2  # rows close together: no room kept for labels
    view.resize(1300, 1000)
    qtbot.waitUntil(lambda: view.tile_label_shown(0) != "", timeout=3000)
    assert view.tile_label_shown(0).startswith("0")
    x8, y8 = view.tile_origin(view.grid()[1])
    assert (y8 - view.tile_origin(0)[1]) >= 28 * 1.4  # a label row between tile rows
    view.resize(300, 220)
    qtbot.waitUntil(lambda: view.tile_label_shown(0) == "", timeout=3000)
    assert view.tile_scene_rect(0).height() == pytest.approx(small, rel=0.05)


def test_tiles_do_not_overlap(qtbot, view, rng):
    view.set_neurons(rng.normal(0, 1, (32, 784)), np.zeros(32), [f"#{i}" for i in range(32)])
    shown(qtbot, view)
    rects = [view.tile_scene_rect(i) for i in range(32)]
    for i in range(32):
        for j in range(i + 1, 32):
            assert not rects[i].intersects(rects[j])


def test_same_shape_updates_in_place(view, rng):
    view.set_neurons(rng.normal(0, 1, (10, 784)), np.zeros(10), [str(d) for d in range(10)])
    item = view.tiles_item()
    items_before = list(view.view_box().addedItems)
    new = rng.normal(0, 2, (10, 784)).astype(np.float32)
    view.set_neurons(new, np.ones(10), [str(d) for d in range(10)])
    assert view.tiles_item() is item and list(view.view_box().addedItems) == items_before
    np.testing.assert_array_equal(view.tile_values(7), new[7].reshape(28, 28))
    assert view.tile_label(7) == "7  b=+1.00"


def test_changing_the_structure_rebuilds(view, rng):
    view.set_neurons(rng.normal(0, 1, (10, 784)), np.zeros(10), [str(d) for d in range(10)])
    view.set_neurons(rng.normal(0, 1, (1, 784)), np.zeros(1), ["one"])
    assert view.tile_count() == 1 and view.grid() == (1, 1)
    assert view.tile_label_shown(0) == ""  # a single picture has no tile label
    view.set_neurons(rng.normal(0, 1, (8, 25)), np.zeros(8), [f"k{i}" for i in range(8)], side=5)
    assert view.tile_count() == 8
    assert view.tile_values(0).shape == (5, 5) and view.tile_colours(7).shape == (5, 5, 4)
    # one item paints every tile, whatever the structure
    assert len(view.view_box().addedItems) == len(set(view.view_box().addedItems))
    assert sum(it is view.tiles_item() for it in view.view_box().addedItems) == 1


def test_more_than_max_tiles_shows_the_first_ones(view, rng):
    view.set_neurons(rng.normal(0, 1, (300, 784)), np.zeros(300), [str(i) for i in range(300)])
    assert view.tile_count() == MAX_TILES
    assert view.current_weights().shape == (MAX_TILES, 784)


# -- hover --------------------------------------------------------------------------
def test_hover_reads_the_weight_under_the_pointer(view, rng):
    weights = single(view, rng)
    r, c = 12, 15
    text = view.hover_at(c + 0.5, r + 0.5)
    assert text == view.hover_text()
    assert text.startswith(f"(row {r}, column {c}): weight = {format_value(weights[r * 28 + c])}")
    assert view.hover_at(-3, 5) == HOVER_HINT
    assert view.hover_at(5, 28.5) == HOVER_HINT


def test_hover_names_the_class_the_pixel_pushes_towards(view):
    w = np.zeros(784, dtype=np.float32)
    w[0], w[1] = 0.5, -0.5
    view.set_neurons(w[None], np.zeros(1), ["3 vs 7"])
    view.set_class_names("3", "7")
    assert "towards “3”" in view.hover_at(0.5, 0.5)
    assert "towards “7”" in view.hover_at(1.5, 0.5)


def test_hover_in_a_grid_names_the_neuron(view, rng):
    weights = rng.normal(0, 1, (10, 784)).astype(np.float32)
    view.set_neurons(weights, np.full(10, 0.25), [str(d) for d in range(10)])
    x0, y0 = view.tile_origin(3)
    text = view.hover_at(x0 + 10.5, y0 + 5.5)
    assert "neuron 3" in text and "b = +0.250" in text
    assert f"(row 5, column 10): weight = {format_value(weights[3, 5 * 28 + 10])}" in text
    assert view.locate(x0 + 10.5, y0 + 5.5) == (3, 5, 10)
    # the label band above a tile is not a pixel
    assert view.locate(x0 + 3, y0 - 2) is None


def _viewport_pos(view, x, y) -> QPoint:
    gv = view.plot_widget()
    scene_pt = view.view_box().mapViewToScene(QPointF(x, y))
    return gv.mapFromScene(scene_pt)


def test_real_mouse_move_updates_the_hover_text(qtbot, view, rng):
    weights = single(view, rng)
    shown(qtbot, view)
    pos = _viewport_pos(view, 7.5, 20.5)
    qtbot.mouseMove(view.plot_widget().viewport(), pos)
    qtbot.waitUntil(lambda: view.hover_text() != HOVER_HINT, timeout=2000)
    assert view.hover_text().startswith(
        f"(row 20, column 7): weight = {format_value(weights[20 * 28 + 7])}"
    )


# -- painting -----------------------------------------------------------------------
def test_add_paint_raises_weights_under_the_brush(qtbot, view):
    view.set_neurons(np.zeros((1, 784)), np.zeros(1), ["a"])
    view.set_paint_mode("add")
    view.set_brush(2.0, 0.5)
    assert view.painting_enabled()
    with qtbot.waitSignal(view.weightsPainted, timeout=1000) as blocker:
        view.drag_to(10.5, 10.5, start=True)
    painted = blocker.args[0]
    assert isinstance(painted, np.ndarray)
    assert painted.shape == (784,) and painted.dtype == np.float32
    assert painted[10 * 28 + 10] == pytest.approx(0.5)  # full strength at the centre
    assert painted[10 * 28 + 11] > 0  # soft falloff
    assert painted[0] == 0.0  # far away: untouched
    np.testing.assert_array_equal(view.current_weights()[0], painted)
    np.testing.assert_array_equal(view.tile_values(0).reshape(-1), painted)
    # dragging on emits on every move and keeps adding
    with qtbot.waitSignals([view.weightsPainted, view.paintFinished], timeout=1000):
        view.drag_to(10.5, 10.5, finish=True)
    assert view.current_weights()[0, 10 * 28 + 10] > 0.5


def test_drag_leaves_no_gaps(view):
    view.set_neurons(np.zeros((1, 784)), np.zeros(1), ["a"])
    view.set_paint_mode("add")
    view.set_brush(1.0, 1.0)
    view.drag_to(2.5, 14.5, start=True)
    view.drag_to(25.5, 14.5, finish=True)
    row = view.current_weights()[0].reshape(28, 28)[14]
    assert np.all(row[2:26] > 0)


def test_subtract_and_erase(view):
    w = np.full((1, 784), 0.3, dtype=np.float32)
    w[0, 5 * 28 + 5] = -0.3
    view.set_neurons(w, np.zeros(1), ["a"])
    view.set_brush(1.0, 0.2)
    view.set_paint_mode("subtract")
    view.paint_at(20.5, 20.5)
    assert view.current_weights()[0, 20 * 28 + 20] == pytest.approx(0.1)
    view.set_paint_mode("erase")
    view.set_brush(1.0, 1.0)  # stronger than the weights: erase stops at 0
    view.paint_at(5.5, 5.5)
    view.paint_at(12.5, 12.5)
    now = view.current_weights()[0]
    assert now[5 * 28 + 5] == 0.0  # negative weight pulled up to 0, not past it
    assert now[12 * 28 + 12] == 0.0
    view.set_brush(1.0, 0.1)
    view.paint_at(3.5, 20.5)
    assert 0.0 < now[20 * 28 + 3] and view.current_weights()[0, 20 * 28 + 3] < 0.3


def test_no_paint_without_a_mode(qtbot, view, rng):
    weights = single(view, rng)
    view.set_paint_mode(None)
    with qtbot.assertNotEmitted(view.weightsPainted):
        view.drag_to(10.5, 10.5, start=True)
        assert not view.paint_at(10.5, 10.5)
    np.testing.assert_array_equal(view.current_weights()[0], weights)
    with pytest.raises(ValueError):
        view.set_paint_mode("smudge")


def test_grids_do_not_paint(qtbot, view, rng):
    view.set_neurons(rng.normal(0, 1, (10, 784)), np.zeros(10), [str(d) for d in range(10)])
    view.set_paint_mode("add")
    assert not view.painting_enabled()
    with qtbot.assertNotEmitted(view.weightsPainted):
        view.drag_to(10.5, 10.5, start=True)


def _send_mouse(widget, kind, pos: QPoint, buttons):
    button = Qt.MouseButton.LeftButton
    if kind == QEvent.Type.MouseMove:
        button = Qt.MouseButton.NoButton
    global_pos = QPointF(widget.mapToGlobal(pos))
    ev = QMouseEvent(
        kind, QPointF(pos), global_pos, button, buttons, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, ev)


def _drag(qtbot, view, points):
    viewport = view.plot_widget().viewport()
    held = Qt.MouseButton.LeftButton
    first = _viewport_pos(view, *points[0])
    _send_mouse(viewport, QEvent.Type.MouseMove, first, Qt.MouseButton.NoButton)
    _send_mouse(viewport, QEvent.Type.MouseButtonPress, first, held)
    for x, y in points[1:]:
        qtbot.wait(25)  # pyqtgraph ignores mouse moves closer than 10 ms apart
        _send_mouse(viewport, QEvent.Type.MouseMove, _viewport_pos(view, x, y), held)
    qtbot.wait(25)
    last = _viewport_pos(view, *points[-1])
    _send_mouse(viewport, QEvent.Type.MouseButtonRelease, last, Qt.MouseButton.NoButton)
    QApplication.processEvents()


def test_real_mouse_drag_paints(qtbot, view):
    view.set_neurons(np.zeros((1, 784)), np.zeros(1), ["a"])
    view.set_paint_mode("add")
    view.set_brush(1.5, 0.5)
    shown(qtbot, view)
    received = []
    view.weightsPainted.connect(received.append)
    _drag(qtbot, view, [(4.5, 14.5), (10.5, 14.5), (16.5, 14.5), (22.5, 14.5)])
    assert received, "dragging in paint mode must emit weightsPainted"
    assert all(a.shape == (784,) for a in received)
    now = view.current_weights()[0].reshape(28, 28)
    assert now[14, 10] > 0 and now[14, 16] > 0
    assert now[0, 0] == 0.0


def test_real_mouse_drag_without_paint_mode_neither_paints_nor_pans(qtbot, view, rng):
    weights = single(view, rng)
    shown(qtbot, view)
    before = view.view_box().viewRange()
    received = []
    view.weightsPainted.connect(received.append)
    _drag(qtbot, view, [(4.5, 4.5), (14.5, 14.5), (24.5, 24.5)])
    assert not received
    np.testing.assert_array_equal(view.current_weights()[0], weights)
    np.testing.assert_allclose(view.view_box().viewRange(), before)
    assert not view.view_box().menuEnabled()


def test_tooltips_explain_the_picture(view, rng):
    single(view, rng)
    view.set_class_names("3", "7")
    tip = view.view_box().toolTip()
    assert "“3”" in tip and "“7”" in tip and "Red" in tip and "Blue" in tip
    assert "white" in view.color_bar().toolTip().lower()
    view.set_paint_mode("add")
    assert "Painting is on" in view.view_box().toolTip()
    view.set_help("custom")
    assert view.view_box().toolTip() == "custom"


# -- histogram ----------------------------------------------------------------------
@pytest.fixture
def hist(qtbot):
    h = WeightHistogram()
    qtbot.addWidget(h)
    return h


def test_nice_ceiling():
    assert nice_ceiling(0.7) == 1.0
    assert nice_ceiling(1.3) == 2.0
    assert nice_ceiling(2.2) == 2.5
    assert nice_ceiling(31) == 50
    assert nice_ceiling(100) == 100
    assert nice_ceiling(float("nan")) == 1.0 and nice_ceiling(-3) == 1.0


def test_steady_range_keeps_still_while_the_content_fits():
    first = steady_range(None, -31.2, 44.9)
    assert first[0] < -31.2 and first[1] > 44.9  # nice steps around the content
    step = 10.0  # a tenth of the span, rounded up to 1, 2, 2.5, 5 × 10ⁿ
    assert first[0] % step == 0 and first[1] % step == 0
    # the content drifts a little: the range stays
    assert steady_range(first, -30.0, 46.0) == first
    # it grows out of it, or shrinks to less than 1/1.6 of it: a new range
    grown = steady_range(first, -30.0, 80.0)
    assert grown[1] >= 80.0 and grown != first
    shrunk = steady_range(first, -5.0, 5.0)
    assert shrunk[0] <= -5.0 and shrunk[1] >= 5.0 and shrunk[1] - shrunk[0] < 20
    assert steady_range(None, 1.0, 1.0)[1] > 1.0  # an empty span still has a width


def test_histogram_counts_every_weight(hist, rng):
    init = rng.normal(0, 1, 784)
    now = rng.normal(0, 2, (10, 784))
    hist.set_initial(init)
    hist.set_current(now)
    assert hist.initial_counts().sum() == 784
    assert hist.current_counts().sum() == 7840
    edges = hist.edges()
    assert len(edges) == len(hist.current_counts()) + 1
    # the range spans the bulk (99%); the rest is counted in the end bins
    assert np.mean(np.abs(now) <= edges[-1]) >= 0.99 and hist.outside_counts()[1] < 0.01 * now.size
    assert edges[0] == -edges[-1]
    initial_curve, current_curve = hist.curves()
    np.testing.assert_array_equal(current_curve.getData()[1], hist.current_counts())
    np.testing.assert_array_equal(initial_curve.getData()[0], edges)
    assert hist.summary_text().startswith("7,840 weights")


def test_histogram_zero_init_is_a_spike_at_zero(hist, rng):
    hist.set_initial(np.zeros(784))
    hist.set_current(rng.normal(0, 0.1, 784))
    counts, edges = hist.initial_counts(), hist.edges()
    centre = len(counts) // 2
    assert counts[centre] == 784
    assert edges[centre] < 0 < edges[centre + 1]


def test_histogram_items_are_created_once(hist, rng):
    curves = hist.curves()
    items = list(hist.plot_item().items)
    hist.set_initial(rng.normal(0, 1, 784))
    for scale in (0.5, 1, 3, 10):
        hist.set_current(rng.normal(0, scale, 784))
        assert hist.current_counts().sum() == 784
    assert hist.curves() == curves
    assert list(hist.plot_item().items) == items


def test_histogram_legend_and_axes(hist):
    item = hist.plot_item()
    assert hist.key.names == ["at initialization", "now"]
    assert item.getAxis("bottom").labelText == "weight value"
    assert item.getAxis("left").labelText == "count"
    assert "spike at 0" in item.toolTip()



@pytest.mark.parametrize("size", [(900, 260), (600, 180), (420, 150), (240, 150)])
def test_histogram_key_is_outside_the_bars(qtbot, rng, size):
    """The legend sat in the view box's top-right corner, over the bars of a wide
    spread: the key is in the title row, whole and outside the data area."""
    h = WeightHistogram()
    qtbot.addWidget(h)
    h.resize(*size)
    h.show()
    qtbot.waitExposed(h)
    h.set_initial(rng.uniform(-1, 1, 784))  # bars across the whole range, corners too
    h.set_current(rng.uniform(-1, 1, 784))
    QApplication.processEvents()
    item = h.plot_item()
    assert item.legend is None
    vb = item.getViewBox()
    text = h.key.label.item
    shown = text.mapRectToScene(text.boundingRect())
    assert shown.height() > 0
    assert not shown.intersects(vb.sceneBoundingRect()), (size, h.key.text)
    plot = h._plot
    assert shown.left() >= 0 and shown.right() <= plot.viewport().width() + 1, size
    assert shown.top() >= 0
    assert "now" in h.key.text

# -- colour bar ticks (walk-through S, issue 10) -------------------------------------
def test_colorbar_ticks_are_a_handful_of_short_nice_labels():
    from biasviz.gui.weights_view import colorbar_ticks

    for hi in (9e7, 0.7, 0.15, 1.0, 4e-4, 3e-7, 123456.0, 0.013):
        ticks = colorbar_ticks(-hi, hi)
        values = [v for v, _t in ticks]
        assert 3 <= len(ticks) <= 7, (hi, ticks)
        assert all(-hi * (1 + 1e-9) <= v <= hi * (1 + 1e-9) for v in values)
        assert (0.0, "0") in ticks
        assert all(len(text) <= 6 and "+" not in text for _v, text in ticks), ticks
        assert len({text for _v, text in ticks}) == len(ticks)  # no two labels alike
    assert colorbar_ticks(-9e7, 9e7) == [(-5e7, "\u22125e7"), (0.0, "0"), (5e7, "5e7")]
    assert "\u22121e\u22127" in [t for _v, t in colorbar_ticks(-2e-7, 2e-7)]
    assert colorbar_ticks(float("nan"), 1.0) == [(0.0, "0")]


@pytest.mark.parametrize("scale", [9e7, 0.7, 3e-5])
def test_the_colour_bars_tick_labels_never_run_over_its_title(qtbot, view, rng, scale):
    weights = rng.uniform(-1, 1, 784).astype(np.float32)
    weights[0], weights[1] = 1.0, -1.0
    view.set_neurons(scale * weights[None], np.array([0.1]), ["3 vs 7"])
    shown(qtbot, view)
    axis = view.color_bar().getAxis("right")
    _axis_spec, _tick_specs, text_specs = tick_layout(axis)
    assert 3 <= len(text_specs) <= 7, [t[2] for t in text_specs]
    title = axis.label.mapRectToParent(axis.label.boundingRect())
    # the title's own text, without the text item's margins
    margin = axis.label.document().documentMargin()
    title.adjust(margin, margin, -margin, -margin)
    for rect, _flags, text in text_specs:
        assert rect.right() <= title.left(), (text, rect, title)


def test_the_hover_hint_speaks_of_what_the_pictures_show(qtbot, view, rng):
    single(view, rng)
    shown(qtbot, view)
    assert view.hover_text() == HOVER_HINT
    view.set_value_name("Δw")  # the last update (Watch learning)
    assert "Δw" in view.hover_text() and "its weight." not in view.hover_text()
    view.hover_at(-100, -100)  # the pointer leaves the picture: the hint again
    assert "Δw" in view.hover_text()
    view.set_value_name("w − w₀")
    assert "w − w₀" in view.hover_text()
    view.set_value_name("weight")
    assert view.hover_text() == HOVER_HINT
