"""`python -m station.cli`: the same as the `balance-station` command."""

import sys

from station.cli import main

sys.exit(main())
