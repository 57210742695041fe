"""Score trained distribution-head networks, alone or as an ensemble, at several read-outs, on every quality set.

    python benchmarks/ensemble.py NETWORK.keras [NETWORK.keras ...] --readout 0.25/0.7 --readout 0.35/0.5

Each NETWORK is a `models/network.keras` that a training wrote (`benchmarks/quality.py --keep` keeps its
worktree). Given several, the ensemble averages their log-probabilities over the ab bins and reads the colour out
of that average with the first network's read-out (`export.rebalance` / `temperature`, and `saturation` if
given as a third number), so one network alone gives what `benchmarks/quality.py` measures for it. Scores
cbsd68, mcmaster18 and the 8 scikit-image sample photographs at 256x256 as `benchmarks/quality.py` does, and
prints one line a read-out: PSNR dB / colorfulness per set.
"""

import argparse
import tempfile
from pathlib import Path

import machine  # noqa: F401  (puts the repository on sys.path)
from quality import DATASETS, named_sets, read_out


def ensemble(paths: list[Path]):
    """One colorizer from the networks at ``paths``: the mean of their bin log-probabilities, read out by the
    first network's own layers (annealed mean, enlarging, saturation)."""
    import keras
    from keras import ops

    from colorizer.inference import load
    from colorizer.model import has_distribution_head

    nets = [load(path) for path in paths]
    for path, net in zip(paths, nets):
        if not has_distribution_head(net):
            raise SystemExit(f"{path}: a regression-head network; an ensemble needs distribution heads")
    lightness = keras.Input((None, None, 1))
    log_probs = [ops.log_softmax(keras.Model(net.inputs, net.get_layer("logits").output)(lightness), axis=-1)
                 for net in nets]
    mean = ops.mean(ops.stack(log_probs, axis=0), axis=0)
    first = nets[0]
    ab = first.get_layer("saturation")(first.get_layer("enlarge")(first.get_layer("annealed_mean")(mean)))
    return keras.Model(lightness, ab), first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("networks", nargs="+", type=Path)
    parser.add_argument("--readout", action="append", required=True,
                        help="export.rebalance/temperature[/saturation], e.g. 0.25/0.7")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    args = parser.parse_args()

    from colorizer.model import set_vividness
    from stages.evaluate import evaluate

    sets = named_sets(("cbsd68", "mcmaster18", "samples"), args.datasets, Path(tempfile.mkdtemp()))
    model, first = ensemble(args.networks)
    for readout in args.readout:
        set_vividness(first, **read_out(readout))
        scores = []
        for name, (images, names) in sets.items():
            means, _ = evaluate(model, images, names, batch_size=8)
            scores.append(f"{name} {means['psnr']:.2f} / {means['colorfulness']:.1f}")
        print(f"{len(args.networks)} network(s), read-out {readout}: " + " | ".join(scores), flush=True)


if __name__ == "__main__":
    main()
