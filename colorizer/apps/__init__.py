"""What a user runs: ``colorize`` (the ``colorize`` command: any photograph at its own size), ``files`` (its many
photographs: where each goes, its hints, the batches), ``studio`` (the ``colorize-studio`` page: colouring a
photograph point by point in the browser; a package)."""
