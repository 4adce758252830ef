"""The first window leaves for later what it does not show (start-up, issue 14): the
decision panel's ten-class page and its histogram plot (no model before the engine is
in), numpy.random (the sample's split is stored beside it),
OpenSSL's hashlib (only downloads check sums) and html."""

from __future__ import annotations


def test_the_first_window_builds_and_imports_only_what_it_shows(first_window_report):
    report = first_window_report(
        """{"imported": sorted(m for m in ("numpy.random", "hashlib", "html")
                               if m in sys.modules),
            "ten_class_page": w.decision_panel.has_multiclass_page(),
            "histogram_plot": w.decision_panel.has_binary_plot(),
            "sample": len(w.session.model.dataset.valid)}""")
    assert report == {"imported": [], "ten_class_page": False, "histogram_plot": False,
                      "sample": 1000}
