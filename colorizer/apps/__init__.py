"""What a user runs: ``colorize`` (the ``colorize`` command: any photograph at its own size), ``studio`` (the
``colorize-studio`` page: colouring a photograph point by point in the browser)."""
