"""Score trained distribution-head networks, alone or as an ensemble, at several read-outs, on every quality set.

    python benchmarks/ensemble.py NETWORK.keras [NETWORK.keras ...] --readout 0.25/0.7 --readout 0.35/0.5

Each NETWORK is a `models/network.keras` that a training wrote (`benchmarks/quality.py --keep` keeps its
worktree); one trained with `train.members` > 1 counts as the mean of its networks (``--members K``: of its first
K). Given several, the ensemble averages their log-probabilities over the ab bins and reads the colour out of
that average with the first network's read-out (`export.rebalance` / `temperature`, and `saturation` if
given as a third number), so one network alone gives what `benchmarks/quality.py` measures for it. Scores
cbsd68, mcmaster18 and the 8 scikit-image sample photographs at 256x256 as `benchmarks/quality.py` does, and
prints one line a read-out: PSNR dB / colorfulness per set.

``--size SIDE`` (repeatable) also scores each read-out with the network seeing the photographs' L shrunk to
SIDE x SIDE and its colour enlarged back to 256x256, as `colorize --size` does to a larger photograph.
"""

import argparse
import tempfile
from pathlib import Path

import machine  # noqa: F401  (puts the repository on sys.path)
from quality import DATASETS, named_sets, read_out


def ensemble(paths: list[Path], members: int | None = None):
    """One colorizer from the networks at ``paths``: the mean of their bin log-probabilities, read out by the
    first network's own layers (annealed mean, enlarging, saturation). ``members`` takes only the first that
    many networks of each one trained with train.members (what a training with fewer would have given)."""
    import keras
    from keras import ops

    from colorizer.inference.loading import load_model as load
    from colorizer.network import readout
    from colorizer.network.ab_bins import centers, ensemble_log_probs
    from colorizer.network.layers import GuidedEnlarge
    from colorizer.network.readout import has_distribution_head, training_model

    nets = [load(path) for path in paths]
    for path, net in zip(paths, nets):
        if not has_distribution_head(net):
            raise SystemExit(f"{path}: a regression-head network; an ensemble needs distribution heads")
    lightness = keras.Input((None, None, 1))
    # A network trained with train.members > 1 is an ensemble already: its own mean log-probabilities.
    kept = slice(0, members * len(centers()) if members else None)  # the first ``members`` networks' logits
    log_probs = [
        ops.log_softmax(ensemble_log_probs(training_model(net)(lightness)[..., kept]), axis=-1) for net in nets
    ]
    mean = ops.mean(ops.stack(log_probs, axis=0), axis=0)
    first = nets[0]
    ab, enlarge = readout.annealed_mean(first)(mean), readout.enlarge(first)
    ab = enlarge([ab, lightness]) if isinstance(enlarge, GuidedEnlarge) else enlarge(ab)
    ab = readout.saturation(first)(ab)
    return keras.Model(lightness, ab), first


class AtWorkingSize:
    """``model`` run on L shrunk to ``side`` x ``side`` (bilinear, antialiased), its ab enlarged back
    bilinearly: `colorizer.inference.photo`'s path, for `colorizer.evaluation.scoring.evaluate`."""

    def __init__(self, model, side: int):
        self.model, self.side = model, side

    def predict(self, lightness, batch_size=8, verbose=0):
        import numpy as np
        from PIL import Image

        from colorizer.inference.photo import enlarge

        height, width = lightness.shape[1:3]
        small = np.stack(
            [
                np.asarray(Image.fromarray(one[..., 0]).resize((self.side, self.side), Image.Resampling.BILINEAR))
                for one in lightness
            ]
        )[..., None]
        ab = np.asarray(self.model.predict(small, batch_size=batch_size, verbose=verbose), np.float32)
        return np.stack(
            [np.stack([enlarge(np.ascontiguousarray(a[..., c]), height, width) for c in range(2)], -1) for a in ab]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("networks", nargs="+", type=Path)
    parser.add_argument(
        "--readout", action="append", required=True, help="export.rebalance/temperature[/saturation], e.g. 0.25/0.7"
    )
    parser.add_argument(
        "--size",
        action="append",
        type=int,
        default=[],
        help="also score the network at this working size (colorize --size), e.g. 192",
    )
    parser.add_argument(
        "--members",
        type=int,
        help="of a network trained with train.members, use only the first this many (a smaller ensemble); default all",
    )
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    args = parser.parse_args()

    from colorizer.evaluation.scoring import evaluate
    from colorizer.network.readout import set_vividness

    sets = named_sets(("cbsd68", "mcmaster18", "samples"), args.datasets, Path(tempfile.mkdtemp()))
    model, first = ensemble(args.networks, args.members)
    for readout in args.readout:
        set_vividness(first, **read_out(readout))
        for side in [None, *args.size]:
            scores = []
            for name, (images, names) in sets.items():
                means, _ = evaluate(AtWorkingSize(model, side) if side else model, images, names, batch_size=8)
                scores.append(f"{name} {means['psnr']:.2f} / {means['colorfulness']:.1f}")
            print(
                f"{len(args.networks)} network(s){f' ({args.members} members each)' if args.members else ''}, "
                f"read-out {readout}"
                f"{f', working size {side}' if side else ''}: " + " | ".join(scores),
                flush=True,
            )


if __name__ == "__main__":
    main()
