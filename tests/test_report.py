"""The run report (report/report.html), loaded in a real headless Chromium."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from stagevep.report.build import NOT_RUN, SECTIONS, render_report, section_of

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "assets" / "test_data"
SECTION_IDS = ["summary", "inputs", "qc", "training", "evaluation", "variants", "versions"]
MAGENTA = (1.0, 0.0, 1.0)
MAGENTA_SHAPE = (120, 200)  # rows, columns of the marker image


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        exe = shutil.which(name)
        if exe:
            return exe
    pytest.fail("Chromium is not on PATH: run `make chromium` (apt-get install -y chromium)", pytrace=False)


def run_chromium(*args: str) -> subprocess.CompletedProcess:
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", "--disable-extensions", f"--user-data-dir={Path(args[-1]).parent / '.chromium'}"]
    return subprocess.run([*cmd, *args[:-1], "file://" + args[-1]], capture_output=True, text=True, timeout=120,
                          check=False)


class DomIndex(HTMLParser):
    """Section ids, images and the text under each section of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.section_ids: list[str] = []
        self.images: list[dict[str, str]] = []
        self.text: dict[str, list[str]] = {}
        self._section: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self._section = attrs.get("id", "")
            self.section_ids.append(self._section)
            self.text[self._section] = []
        elif tag == "img":
            self.images.append({**attrs, "section": self._section or ""})
        elif tag in ("link", "script"):
            self.text.setdefault("__external__", []).append(f"{tag} {attrs}")

    def handle_endtag(self, tag):
        if tag == "section":
            self._section = None

    def handle_data(self, data):
        if self._section is not None and data.strip():
            self.text[self._section].append(data.strip())


def index(html_text: str) -> DomIndex:
    parser = DomIndex()
    parser.feed(html_text)
    return parser


def write_results(root: Path) -> dict[str, Path]:
    """A small results tree like a real run's; returns ``{path below outdir: file}``."""
    rng = np.random.default_rng(3)
    files: dict[str, Path] = {}

    def put(rel: str) -> Path:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        files[rel] = path
        return path

    steps = np.arange(1, 61)
    metrics = pd.DataFrame({"step": steps, "epoch": steps // 20, "lr": 1e-3,
                            "train_loss": 2.0 / np.sqrt(steps) + rng.normal(0, 0.02, len(steps))})
    metrics["val_loss"] = np.nan
    metrics["val_pearson"] = np.nan
    for step, (loss, r) in {20: (0.9, 0.2), 40: (0.7, 0.35), 60: (0.75, 0.33)}.items():
        metrics.loc[metrics["step"] == step, ["val_loss", "val_pearson"]] = (loss, r)
    metrics.to_csv(put("train/metrics.csv"), index=False)

    tracks = ["CS13", "CS20", "all"]
    rows = [("test", p, "transformed", m, t, float(rng.uniform(0, 1)), 12)
            for p in ("forward", "mean_profile", "shuffled") for m in ("mean_window_pearson", "pearson_all_bins")
            for t in tracks]
    pd.DataFrame(rows, columns=["split", "prediction", "space", "metric", "track", "value", "n_windows"]).to_csv(
        put("evaluate/metrics.tsv"), sep="\t", index=False)
    pd.DataFrame({"metric": ["score", "CS13_abs_log2fc"], "n_pos": [5, 5], "n_neg": [40, 40],
                  "auc": [0.81, 0.7]}).to_csv(put("variants/group_stats.tsv"), sep="\t", index=False)
    pd.DataFrame({"stage": ["CS13", "CS20"], "spearman": [0.9, 0.8]}).to_csv(
        put("prepare/qc/replicate_concordance.tsv"), sep="\t", index=False)
    marker = np.zeros((*MAGENTA_SHAPE, 3))
    marker[:] = MAGENTA
    mpimg.imsave(put("variants/plots/marker.png"), marker)
    mpimg.imsave(put("evaluate/plots/noise.png"), rng.uniform(size=(60, 80, 3)))
    put("variants/plots/marker.pdf").write_bytes(b"%PDF-1.4 not embedded")
    return files


def write_inputs(tmp: Path) -> list[str]:
    params = tmp / "params.json"
    params.write_text(json.dumps({"input": str(TEST_DATA / "samplesheet.csv"), "max_steps": 60, "lr": 0.001}))
    versions = tmp / "versions.yml"
    versions.write_text('"STAGEVEP:TRAIN_MODEL":\n  python: 3.11.7\n  torch: 2.11.0\n'
                        '"STAGEVEP:PREPARE_DATA:UNION_PEAKS":\n  python: 3.11.7\n  bedtools: 2.30.0\n')
    return ["--samplesheet", str(TEST_DATA / "samplesheet.csv"), "--params", str(params), "--versions", str(versions)]


def make_report(tmp: Path, files: dict[str, Path]) -> Path:
    out = tmp / "report" / "report.html"
    args = [sys.executable, str(REPO / "bin" / "make_report.py"), "--output", str(out), *write_inputs(tmp)]
    for rel, path in files.items():
        args += ["--file", f"{rel}={path}"]
    res = subprocess.run(args, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    return out


def test_report_opens_in_headless_chromium_with_every_section(tmp_path):
    files = write_results(tmp_path / "results")
    report = make_report(tmp_path, files)
    assert not list(report.parent.glob("*.tmp")), "a temporary file was left next to the report"
    umask = os.umask(0)
    os.umask(umask)
    assert report.stat().st_mode & 0o777 == 0o666 & ~umask, "the report must be readable like any other output"

    res = run_chromium("--dump-dom", str(report))
    assert res.returncode == 0, res.stderr
    dom = index(res.stdout)
    assert dom.section_ids == SECTION_IDS, "the browser's DOM lacks sections or has them out of order"
    assert "__external__" not in dom.text, f"the report loads external resources: {dom.text.get('__external__')}"

    images = {img["alt"]: img for img in dom.images}
    # every PNG handed in is embedded (the PDF twin is not), plus the training curves
    assert set(images) == {"variants/plots/marker.png", "evaluate/plots/noise.png",
                           "training curves from train/metrics.csv"}
    assert images["variants/plots/marker.png"]["section"] == "variants"
    assert images["evaluate/plots/noise.png"]["section"] == "evaluation"
    assert images["training curves from train/metrics.csv"]["section"] == "training"
    for alt, img in images.items():
        prefix = "data:image/png;base64,"
        assert img["src"].startswith(prefix), f"{alt} is not embedded as a PNG data URI"
        decoded = mpimg.imread(io.BytesIO(base64.b64decode(img["src"][len(prefix):])), format="png")
        assert decoded.shape[0] > 10 and decoded.shape[1] > 10, alt
    marker = mpimg.imread(io.BytesIO(base64.b64decode(images["variants/plots/marker.png"]["src"].split(",")[1])))
    np.testing.assert_allclose(marker[..., :3], np.broadcast_to(MAGENTA, (*MAGENTA_SHAPE, 3)))

    # tables: the samplesheet, the evaluation metrics, group stats and the QC table landed in their sections
    text = {sid: " ".join(parts) for sid, parts in dom.text.items()}
    sheet = pd.read_csv(TEST_DATA / "samplesheet.csv")
    assert all(rep_bw in text["inputs"] for rep_bw in sheet["bigwig"]), "samplesheet rows missing"
    assert "max_steps" in text["inputs"]
    assert "replicate_concordance.tsv" in text["qc"] and "spearman" in text["qc"]
    assert "mean_window_pearson" in text["evaluation"] and "pearson_all_bins" in text["evaluation"]
    assert "auc" in text["variants"]
    assert "torch" in text["versions"] and "bedtools" in text["versions"] and "2.30.0" in text["versions"]
    assert NOT_RUN not in res.stdout

    # the browser decoded and painted the embedded image: its magenta block appears in a screenshot
    shot = tmp_path / "shot.png"
    res = run_chromium(f"--screenshot={shot}", "--window-size=1400,9000", str(report))
    assert res.returncode == 0 and shot.is_file(), res.stderr
    pixels = mpimg.imread(shot)[..., :3]
    magenta = np.all(np.abs(pixels - np.array(MAGENTA)) < 0.02, axis=-1).sum()
    expected = MAGENTA_SHAPE[0] * MAGENTA_SHAPE[1]
    assert magenta >= 0.9 * expected, f"{magenta} magenta pixels painted, the marker image has {expected}"
    assert np.unique(pixels.reshape(-1, 3), axis=0).shape[0] > 50, "the screenshot is (nearly) blank"


def test_best_step_is_the_lowest_validation_loss(tmp_path):
    files = write_results(tmp_path / "results")
    dom = index(render_report({"train/metrics.csv": files["train/metrics.csv"]}))
    metrics = pd.read_csv(files["train/metrics.csv"])
    best_step = int(metrics.loc[np.nanargmin(metrics["val_loss"].to_numpy()), "step"])
    training = dom.text["training"]
    after = training[training.index("lowest validation loss (best.pt)") + 1:]
    header = after[: len(metrics.columns)]
    assert header == list(metrics.columns)
    assert int(after[len(metrics.columns)]) == best_step


def test_absent_outputs_say_not_run(tmp_path):
    dom = index(render_report({}))
    assert dom.section_ids == SECTION_IDS
    for sid in ("summary", "inputs", "qc", "training", "evaluation", "variants", "versions"):
        assert dom.text[sid][1:] == [NOT_RUN], f"section {sid}: {dom.text[sid]}"


def test_stub_outputs_are_reported_as_empty(tmp_path):
    files = {}
    for rel in ("train/metrics.csv", "evaluate/metrics.tsv", "variants/group_stats.tsv",
                "variants/plots/score_by_group.png"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        files[rel] = path
    dom = index(render_report(files))
    assert not dom.images
    for sid in ("training", "evaluation", "variants"):
        assert any("empty file" in t for t in dom.text[sid]), dom.text[sid]
    assert dom.text["qc"][1:] == [NOT_RUN]
    assert dom.text["summary"][1:] == [NOT_RUN]


def test_summary_opens_the_report_with_the_figures_beside_their_references(tmp_path):
    """The first section: pooled window figures of the model, the no-sequence and the shuffled reference, and the
    signed variant comparison, read from evaluate/metrics.tsv and variants/group_stats.tsv."""
    rows = []
    values = {"rc_average": (0.91, 0.72, 0.8, 0.99), "forward": (0.5, 0.4, 0.3, 0.2),
              "mean_profile": (float("nan"), -0.002, 0.0, 0.94), "shuffled": (0.004, -0.67, -0.02, 0.89)}
    metrics = ("pearson_window_totals", "r2_stage_deviation", "stage_specificity", "mean_window_pearson")
    for pred, vals in values.items():
        for space, shift in (("transformed", 0.0), ("raw", 0.05)):
            rows += [("test", pred, space, m, "all", v + shift, 108) for m, v in zip(metrics, vals, strict=True)]
            rows += [("test", pred, space, m, "CS13", 0.123, 108) for m in metrics]
    path = tmp_path / "metrics.tsv"
    pd.DataFrame(rows, columns=["split", "prediction", "space", "metric", "track", "value", "n_windows"]).to_csv(
        path, sep="\t", index=False, na_rep="NA")
    stats = tmp_path / "group_stats.tsv"
    pd.DataFrame({"metric": ["score", "effect"], "kind": ["magnitude", "signed"],
                  "positive_group": "functional", "negative_group": "flank", "n_pos": 48, "n_neg": 48,
                  "median_pos": [0.03, -140.0], "median_neg": [0.002, 0.4], "auc": [0.998, 0.021]}).to_csv(
        stats, sep="\t", index=False)
    dom = index(render_report({"evaluate/metrics.tsv": path, "variants/group_stats.tsv": stats}))
    assert dom.section_ids[0] == "summary"
    text = dom.text["summary"]
    assert text[0] == "Does the model read the sequence?"
    header = text[1:5]
    assert header == ["figure", "model (rc_average)", "no sequence", "shuffled"]
    totals = text[text.index("Pearson of window totals (enhancer activity, across windows)") + 1:][:3]
    assert totals == ["0.91", "NA", "0.004"]  # the RC-averaged model, target space, pooled
    r2 = text[text.index("R² of stage deviations (which stages of each enhancer are high)") + 1:][:3]
    assert r2 == ["0.72", "-0.002", "-0.67"]
    assert any("functional vs flank (n = 48 vs 48)" in t for t in text)
    effect = text[text.index("signed effect at the stage of largest change (AUC < 0.5: losses)") + 1:][:3]
    assert effect == ["0.021", "-140", "0.4"]


@pytest.mark.parametrize(("rel", "section"), [
    ("prepare/qc/concordance.png", "qc"), ("qc/signal.png", "qc"), ("prepare/averaged/CS13.mean.bw", "qc"),
    ("train/metrics.csv", "training"), ("train/tensorboard/events", "training"),
    ("evaluate/plots/scatter.png", "evaluation"), ("variants/plots/x.png", "variants"),
    ("pipeline_info/x.html", None), ("report.png", None),
])
def test_section_of(rel, section):
    assert section_of(rel) == section


def test_section_ids_are_stable():
    assert [sid for sid, _ in SECTIONS] == SECTION_IDS


def test_bad_file_argument_is_an_input_error(tmp_path):
    res = subprocess.run([sys.executable, str(REPO / "bin" / "make_report.py"), "--output", str(tmp_path / "r.html"),
                          "--file", "train/metrics.csv"], capture_output=True, text=True, check=False)
    assert res.returncode == 2
    assert "ERROR: --file expects RELATIVE_PATH=LOCAL_PATH" in res.stderr


def test_parse_assignments_keeps_order_and_rejects_malformed_or_repeated_keys():
    from stagevep.core.assignments import parse_assignments
    from stagevep.errors import InputError

    got = parse_assignments(["b/x.png=in/1/x.png", "a/y=in/2/y=z"], "--file", "REL=PATH")
    assert list(got.items()) == [("b/x.png", "in/1/x.png"), ("a/y", "in/2/y=z")]
    with pytest.raises(InputError, match="--file expects REL=PATH, got 'nothing'"):
        parse_assignments(["nothing"], "--file", "REL=PATH")
    with pytest.raises(InputError, match="a is given twice in --file"):
        parse_assignments(["a=1", "a=2"], "--file", "REL=PATH")


def test_variants_without_group_stats_say_the_comparison_did_not_run(tmp_path):
    """--skip_group_comparison: panels exist, group_stats.tsv does not; the section says so."""
    panel = tmp_path / "variant_x.png"
    panel.touch()
    dom = index(render_report({"variants/plots/variant_x.png": panel}))
    assert any(f"group comparison {NOT_RUN}" in t for t in dom.text["variants"]), dom.text["variants"]
    stats = tmp_path / "group_stats.tsv"
    stats.touch()
    dom = index(render_report({"variants/plots/variant_x.png": panel, "variants/group_stats.tsv": stats}))
    assert not any("group comparison" in t for t in dom.text["variants"]), dom.text["variants"]
