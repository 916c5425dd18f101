"""`python -m app.sandbox --port 4430 --state data/sandbox.json --traffic-rate 5`."""

import sys

from .cli import main

sys.exit(main())
