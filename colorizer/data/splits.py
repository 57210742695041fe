"""Deterministic train/val/test assignment from a hash of each image's relative path.

An image's split depends only on its own path, so adding or removing other images never moves it.
"""

import hashlib

SPLITS = ("train", "val", "test")


def unit_hash(key: str) -> float:
    """A number in [0, 1) that depends only on ``key``."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign(relative_path: str, fractions: dict, seed: int = 0) -> str:
    """The split of the image at ``relative_path`` (a POSIX path relative to the images folder).

    ``seed`` picks another, equally deterministic partition of the same files.
    """
    u = unit_hash(f"{seed}/{relative_path}")
    edge = 0.0
    for name in SPLITS:
        edge += fractions[name]
        if u < edge:
            return name
    return SPLITS[-1] if fractions[SPLITS[-1]] > 0 else max(SPLITS, key=lambda s: fractions[s])
