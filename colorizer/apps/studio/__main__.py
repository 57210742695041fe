"""``python -m colorizer.apps.studio``: the command ``colorize-studio``."""

import sys

from colorizer.apps.studio.command import main

sys.exit(main())
