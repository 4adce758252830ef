"""``python -m biasviz``: same as the ``biasviz`` command."""

import sys

from biasviz.cli import main

sys.exit(main())
