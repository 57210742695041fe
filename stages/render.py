"""Stage ``render``: a PNG gallery of the first ``render.count`` test images.

``gallery/`` gets one PNG per image (grayscale input | colorized | original, labelled), a contact sheet of
them all and an ``index.html`` that shows them offline; the folder is logged to the training's MLflow run.
"""

import sys
from pathlib import Path


from stages import params as P
from stages import tracking
from stages.atomic import replacing
from stages.gallery import contact_sheet, index_html, panel, panel_name
from stages.inference import open_test_split, predict_lab
from stages.shards import LabSplit

SECTION = "render"
PREPARED = Path("data/prepared")
MODEL = Path("models/colorizer.keras")
GALLERY = Path("gallery")


def check_params(p: dict) -> dict:
    return P.only_known(p, SECTION, {
        "count": P.integer(p, SECTION, "count", minimum=1),
        "sheet_width": P.integer(p, SECTION, "sheet_width", minimum=64),
    })


def render(model, test: LabSplit, sources: list[str], cfg: dict, output=GALLERY) -> list[str]:
    """Write the gallery into ``output`` (replaced whole); returns the panel file names."""
    count = min(cfg["count"], len(test))
    panels, entries = [], []
    with replacing(output) as tmp:
        tmp.mkdir()
        for i in range(count):
            truth = test.take([i])
            image = panel(truth[0], predict_lab(model, truth)[0], title=sources[i])
            name = panel_name(i, sources[i])
            image.save(tmp / name)
            panels.append(image)
            entries.append((name, sources[i]))
        contact_sheet(panels, cfg["sheet_width"]).save(tmp / "contact_sheet.png")
        (tmp / "index.html").write_text(index_html(entries))
    return [name for name, _ in entries]


def main() -> None:
    try:
        cfg = check_params(P.load(SECTION))
        test, sources, model = open_test_split(PREPARED, MODEL)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f"render: {error}")
    names = render(model, test, sources, cfg)
    try:
        import mlflow

        with tracking.reopen_training_run():
            mlflow.log_artifacts(str(GALLERY), "gallery")
    except Exception as error:
        print(f"render: warning: gallery not logged to MLflow: {error}", file=sys.stderr)
    print(f"render: {len(names)} images and a contact sheet in {GALLERY}/")


if __name__ == "__main__":
    main()
