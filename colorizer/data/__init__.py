"""Photographs in, prepared data out: ``images`` (finding, reading and resizing photographs), ``splits`` (which
photograph goes to train, val or test), ``shards`` (the one-byte Lab .npy shards and their manifest)."""
