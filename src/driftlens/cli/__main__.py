"""``python -m driftlens.cli``: the same as the ``driftlens`` command."""

import sys

from driftlens.cli import main

sys.exit(main())
