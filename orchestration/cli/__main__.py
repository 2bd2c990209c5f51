"""`python -m orchestration.cli`, the same as `burry`."""

import sys

from orchestration.cli import main

sys.exit(main())
