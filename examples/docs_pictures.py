"""The demo pictures of ``docs/``, made from a demo run folder, and a screenshot of its report page.

    python examples/readme_demo.py --keep /tmp/run          # a demo run in /tmp/run/squeezenp-demo
    python examples/docs_pictures.py /tmp/run/squeezenp-demo

Copies the run's training curves, test confusion matrix and ROC curve and augmentation grid to
``docs/images/demo_*.png``; runs ``squeezenp cam`` on three COVID and two NonCOVID test phantoms (lesions
outlined) for ``demo_cam_grid.png`` and the second one's overlay ``demo_cam_single.png``; and, where Chromium is
installed, screenshots the top of ``report.html`` to ``demo_report_page.png``.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))       # this tree's squeezenp, not an installed copy
DOCS = ROOT / "docs" / "images"
COPIES = {"training_curves.png": "demo_training_curves.png", "confusion_test1.png": "demo_confusion_test1.png",
          "roc_test1.png": "demo_roc_test1.png", "augmentations.png": "demo_augmentations.png"}


def screenshot(page: Path, png: Path, width: int = 1100, height: int = 1500) -> bool:
    """Headless Chromium's picture of the top ``height`` pixels of ``page``; False when Chromium is missing."""
    browser = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
                   None)
    if browser is None:
        return False
    with tempfile.TemporaryDirectory() as home:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--window-size={width},{height}", f"--screenshot={png}", page.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120, env={"HOME": home, "PATH": "/usr/bin:/bin"})
    return True


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="the --out folder of squeezenp demo")
    p.add_argument("--docs", default=str(DOCS), help="where the pictures go (default: docs/images)")
    args = p.parse_args(argv)
    run, docs = Path(args.run), Path(args.docs)
    if not (run / "report.html").is_file():
        raise SystemExit(f"{run}: no report.html, not a squeezenp demo folder")
    docs.mkdir(parents=True, exist_ok=True)
    for src, dst in COPIES.items():
        shutil.copyfile(run / src, docs / dst)
    from squeezenp.app.cli import main as cli
    test = run / "phantoms" / "test"
    images = sorted((test / "COVID").glob("*.png"))[:3] + sorted((test / "NonCOVID").glob("*.png"))[:2]
    with tempfile.TemporaryDirectory() as tmp:
        code = cli(["cam", str(run / "model.npz"), *map(str, images), "--out", tmp, "--class", "covid",
                    "--size", "192", "--masks", str(run / "phantoms"), "--grid-cell", "128"])
        if code:
            return code
        shutil.copyfile(Path(tmp) / "cam_grid.png", docs / "demo_cam_grid.png")
        shutil.copyfile(Path(tmp) / f"{images[1].stem}_cam.png", docs / "demo_cam_single.png")
    if not screenshot(run / "report.html", docs / "demo_report_page.png"):
        print("no headless Chromium: demo_report_page.png not made (apt-get install chromium)", file=sys.stderr)
    print(f"pictures written to {docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
