"""``python -m bytespike`` is the ``bytespike`` command."""

import sys

from bytespike.cli import main

sys.exit(main())
