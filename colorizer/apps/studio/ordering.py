"""Request ordering for one open photograph: a request that a newer one of its kind overtook while it waited for
the network is dropped, not run, and suggestions give way to colourings."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus

from colorizer.apps.studio.refusals import Refused


@dataclass
class Order:
    """The newest sequence number of each kind of request (``colouring``, ``suggestion``) of one photograph,
    and how many colourings wait for the network or are in it."""

    latest: int = 0  # the newest colouring request's sequence number
    latest_suggestion: int = 0
    colouring: int = 0  # colouring requests waiting for the network or in it: suggestions give way to them
    lock: threading.Lock = field(default_factory=threading.Lock)

    def arrived(self, seq: object, kind: str) -> int:
        """Record ``seq`` as the newest request of ``kind`` ("colouring" or "suggestion"); returns it.
        `Refused` for a ``seq`` that is not a whole number."""
        if isinstance(seq, bool) or not isinstance(seq, int):
            raise Refused(HTTPStatus.BAD_REQUEST, "seq must be a whole number")
        attribute = "latest" if kind == "colouring" else "latest_suggestion"
        with self.lock:
            setattr(self, attribute, max(getattr(self, attribute), seq))
        return seq

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """A colouring waits for the network, or is in it, while this is open."""
        with self.lock:
            self.colouring += 1
        try:
            yield
        finally:
            with self.lock:
                self.colouring -= 1

    def colouring_overtaken(self, seq: int) -> bool:
        """Whether a newer colouring than ``seq`` arrived."""
        return seq < self.latest

    def suggestion_overtaken(self, seq: int) -> bool:
        """Whether a newer suggestion than ``seq`` arrived, or a colouring waits for the network."""
        return seq < self.latest_suggestion or self.colouring > 0
