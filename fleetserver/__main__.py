"""`python -m fleetserver`: the `powerctl-fleet` command."""

import sys

from fleetserver.cli import main

sys.exit(main())
