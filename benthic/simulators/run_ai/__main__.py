"""``python -m benthic.simulators.run_ai``: the simulator's command line."""

import sys

from benthic.simulators.run_ai.cli import main

sys.exit(main(sys.argv[1:]))
