"""``python -m trail_validators.cli``: the ``secure-trail`` command."""

import sys

from .main import main

sys.exit(main())
