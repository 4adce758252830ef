"""`biasviz gui` names itself in its usage line (it printed "biasviz [-h]
[--screenshot PNG]…", the usage of another command)."""

import pytest


def test_a_bad_gui_argument_shows_the_gui_commands_usage(capsys):
    from biasviz.gui import app

    with pytest.raises(SystemExit) as stop:
        app._parse(["--nonsense"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.startswith("usage: biasviz gui ")
