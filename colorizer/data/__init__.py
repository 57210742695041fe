"""Photographs in, prepared data out: ``images`` (finding, reading and resizing photographs), ``splits`` (which
photograph goes to train, val or test), ``shards`` (the one-byte Lab .npy shards and their manifest),
``preparation`` (a photographs folder made into shards, the prepare stage), ``samples`` (the photographs that
ship inside scikit-image, the default images folder)."""
