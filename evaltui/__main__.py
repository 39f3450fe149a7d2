"""`python -m evaltui`."""

import sys

from evaltui.cli import main

sys.exit(main())
