"""`python -m evaltui`."""

import sys

from evaltui.cli.main import main

sys.exit(main())
