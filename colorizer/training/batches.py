"""The training input: batches of stored photographs (uint8 Lab codes) and the crops to cut from them.

The host reads whole rows from the shards with positioned reads and draws one box an image; cutting,
mirroring and resizing happen in the training graph (`colorizer.training.crops.CropTraining`). Every epoch shows each
training photograph ``crops_per_image`` times, each time with a fresh crop. The order and the crops of
batch ``i`` of epoch ``e`` depend on (seed, e, i) alone, so two trainings with the same seed see the same
batches, whatever the number of workers, and a resumed training continues the same sequence.
"""

import keras
import numpy as np

from colorizer.data.shards import LabSplit
from colorizer.training.crops import draw_boxes, whole_boxes
from colorizer.training.simulated_hints import draw_training_points


class CropBatches(keras.utils.PyDataset):
    """Batches ``{"codes": uint8 [n, H, W, 3], "boxes": float32 [n, 5]}`` of one split.

    For training (``shuffle``): each photograph ``crops_per_image`` times an epoch, in an order shuffled
    anew every epoch, with a random box of side ``min_scale``..1 of the photograph's (mirrored at random
    with ``flip``). Otherwise: each photograph once, in order, whole. It starts at epoch ``epoch``;
    `EpochCounter` moves it on as `model.fit` begins each epoch (not `on_epoch_end`: Keras calls that once
    more before the first epoch, after reading batches to learn their shapes). ``skip`` leaves out the first
    batches of that first epoch, where an interrupted training had got to (a `model.fit` of that one epoch:
    Keras takes an input's length once a fit). Fit with ``shuffle=False``: the order is shuffled here, by
    the seed.

    ``part`` = (i, n): this process is process i of n training one model (`colorizer.training.cluster`); it reads
    and yields only its slice i of n of every batch (whose size must divide by n), with the crops a single
    process would draw for those photographs.

    ``hints`` = {"size": (h, w) of the crops, "stop", "sides", "spread"}
    (`colorizer.training.simulated_hints.draw_training_points`) adds ``"points"`` [n, MAX_POINTS, 4] to each
    batch: the simulated hints of each crop, drawn with the crops' seed; for validation the same points every
    epoch, so that its loss, which picks the epoch a training keeps, scores the model with hints (the hint
    branch) as well as without (the hint-free networks).
    """

    def __init__(
        self,
        split: LabSplit,
        batch_size: int,
        shuffle: bool = True,
        crops_per_image: int = 1,
        min_scale: float = 1.0,
        flip: bool = False,
        seed: int = 0,
        epoch: int = 0,
        skip: int = 0,
        part: tuple[int, int] = (0, 1),
        hints: dict | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self.split, self.batch_size, self.part = split, batch_size, tuple(part)
        self.shuffle, self.flip, self.seed, self.hints = shuffle, flip, seed, hints
        self.crops_per_image = crops_per_image if shuffle else 1
        self.min_scale = min_scale if shuffle else 1.0
        self.set_epoch(epoch, skip)

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        """Draw epoch ``epoch``'s order, starting ``skip`` batches in."""
        self.epoch, self.skip = int(epoch), int(skip)
        rows = np.tile(np.arange(len(self.split)), self.crops_per_image)
        if self.shuffle:
            np.random.default_rng([self.seed, self.epoch]).shuffle(rows)
        self.order = rows

    @property
    def batches_per_epoch(self) -> int:
        return -(-len(self.order) // self.batch_size)

    def __len__(self) -> int:
        return self.batches_per_epoch - self.skip

    def rows_of(self, index: int) -> np.ndarray:
        index += self.skip
        return self.order[index * self.batch_size : (index + 1) * self.batch_size]

    def global_batch(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, boxes) of the whole batch ``index``, every process's slices together."""
        rows = self.rows_of(index)
        if self.shuffle:
            rng = np.random.default_rng([self.seed, self.epoch, index + self.skip, 1])
            boxes = draw_boxes(rng, len(rows), self.split.image_shape[:2], self.min_scale, self.flip)
        else:
            boxes = whole_boxes(len(rows), self.split.image_shape[:2])
        return rows, boxes

    def points(self, index: int, count: int) -> np.ndarray:
        """The simulated hints of the ``count`` crops of batch ``index`` (the whole batch's, like its boxes)."""
        # Training draws new points every epoch; validation the same points every epoch.
        key = [self.epoch, index + self.skip, 2] if self.shuffle else [index + self.skip, 3]
        rng = np.random.default_rng([self.seed, *key])
        return draw_training_points(
            rng, count, self.hints["size"], self.hints["stop"], self.hints["sides"], self.hints["spread"]
        )

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        rows, boxes = self.global_batch(index)
        mine = slice_of(len(rows), self.part)
        batch = {"codes": self.split.take_codes(rows[mine]), "boxes": boxes[mine]}
        if self.hints is not None:
            batch["points"] = self.points(index, len(rows))[mine]
        return batch


def slice_of(length: int, part: tuple[int, int]) -> slice:
    """Slice ``part`` = (i, n) of a batch of ``length`` rows: its i-th n-th, in order."""
    index, count = part
    if length % count:
        raise ValueError(f"a batch of {length} cannot be split evenly between {count} processes")
    share = length // count
    return slice(index * share, (index + 1) * share)


class EvenBatches(CropBatches):
    """`CropBatches` whose every batch splits evenly between ``replicas`` devices: ``batch_size`` is a
    multiple of ``replicas`` and the last batch drops its remainder (fewer than ``replicas`` images, other
    ones each epoch when shuffled). Keras 3 under tf.distribute fails on an uneven batch
    (keras-team/keras#19246), and JAX shards a batch only evenly (``data_parallel``)."""

    def __init__(self, split: LabSplit, batch_size: int, replicas: int, **kwargs: object) -> None:
        if batch_size % replicas or len(split) < replicas:
            raise ValueError(
                f"train.distribute: batches of {batch_size} from a split of {len(split)} "
                f"images cannot be split evenly between {replicas} devices"
            )
        self.replicas = replicas
        super().__init__(split, batch_size, **kwargs)

    @property
    def batches_per_epoch(self) -> int:
        usable = len(self.order) - len(self.order) % self.replicas
        return -(-usable // self.batch_size)

    def global_batch(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rows, boxes = super().global_batch(index)
        keep = len(rows) - len(rows) % self.replicas
        return rows[:keep], boxes[:keep]


class EpochCounter(keras.callbacks.Callback):
    """Tells ``batches`` (`CropBatches`) which epoch `model.fit` is beginning, before it reads a batch."""

    def __init__(self, batches: CropBatches):
        super().__init__()
        self.batches = batches

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if epoch != self.batches.epoch:
            self.batches.set_epoch(epoch)
