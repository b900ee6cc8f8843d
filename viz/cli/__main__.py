"""``python -m viz.cli``: the chainrule command line."""

import sys

from . import main

sys.exit(main())
