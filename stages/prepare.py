"""Stage ``prepare``: photographs folder -> Lab shards for train, val and test, plus a manifest
(`colorizer.data.preparation`); files that cannot be read are skipped and listed in ``metrics/prepare.json``."""

import sys

from colorizer import params as P
from colorizer.atomic import write_json
from colorizer.data.preparation import SECTION, check_params, prepare
from stages import stage_paths


def main(argv=None) -> None:
    paths = stage_paths(
        "prepare",
        argv,
        prepared="the shards and manifest to write",
        report="the report to write (counts, skipped files)",
    )
    try:
        cfg = check_params(P.load(SECTION))
        report = prepare(cfg, paths.prepared)
    except ValueError as error:  # ParamError is a ValueError
        sys.exit(f"prepare: {error}")
    write_json(paths.report, report)
    height, width = report["train_stored_size"]
    print(
        f"prepare: {report['used']} images used ({report['train_images']} for training, stored at "
        f"{height}x{width} for crops drawn while training), {report['skipped']} skipped"
    )


if __name__ == "__main__":
    main()
