"""Lessons that answer the seed questions, each a widget shown as a tab of the main
window (Lessons menu).  See :class:`biasviz.gui.lessons.base.Lesson` for the contract."""
