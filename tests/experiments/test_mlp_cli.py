"""`subliminal-stats run`: the MLP pipeline end to end (tiny), resuming, config errors, dispatch."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from subliminal_stats.data.schema import read_responses

REPO = Path(__file__).resolve().parents[2]

TINY_TOML = """\
experiment = "mlp_digits"
seeds = 2
threads = 1
seeds_per_block = {block}

[data]
train_limit = 400
test_limit = 120

[model]
hidden = [24, 24]

[teacher]
epochs = 10
batch_size = 50
lr = {lr}

[student]
epochs = 2
batch_size = 100
lr = 1e-3
"""


def _tiny(tmp_path, *, block=2, lr=3e-3, name="tiny.toml") -> Path:
    path = tmp_path / name
    path.write_text(TINY_TOML.format(block=block, lr=lr))
    return path


def _per_seed(table: pd.DataFrame) -> pd.DataFrame:
    return table.groupby(["condition", "seed"])["hit"].mean().unstack("condition")


@pytest.fixture(autouse=True)
def _one_thread():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)


def test_run_writes_table_and_manifest_then_resumes(cli, tmp_path):
    toml, out = _tiny(tmp_path), tmp_path / "run"
    res = cli("run", toml, "--out", out)
    assert res.code == 0, res.err
    table = read_responses(out / "responses.parquet")
    assert len(table) == 6 * 2 * 120
    assert set(table["condition"]) == {"reference", "teacher", "aux_same_init", "aux_diff_init",
                                       "all_same_init", "all_diff_init"}
    assert set(table["seed"]) == {"0", "1"} and table["trait"].eq("digits").all()
    assert table["experiment"].eq("mlp_digits").all()
    acc = _per_seed(table)
    assert (acc["teacher"] > 0.6).all()  # chance is 0.1
    assert acc["reference"].mean() < 0.3
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "mlp_digits" and manifest["seeds"] == [0, 1]
    assert manifest["versions"]["torch"] and manifest["torch"]["threads"] == 1
    assert len(manifest["data"]["sha256"]) == 64 and manifest["data"]["n_test"] == 120
    assert manifest["config"]["teacher"]["epochs"] == 10 and manifest["wall_seconds"] > 0
    assert manifest["accuracy_per_condition"]["teacher"]["mean"] == pytest.approx(acc["teacher"].mean())
    text = (out / "manifest.json").read_text().lower()
    assert "api_key" not in text and "token" not in text

    parts = sorted((out / "parts").glob("seed-*.parquet"))
    stamps = {p.name: p.stat().st_mtime_ns for p in parts}
    res = cli("run", toml, "--out", out, "--seeds", "3")
    assert res.code == 0, res.err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seeds_reused"] == [0, 1] and manifest["seeds_run_now"] == [2]
    assert {p.name: p.stat().st_mtime_ns for p in parts} == stamps  # finished seeds not redone
    bigger = read_responses(out / "responses.parquet")
    assert len(bigger) == 6 * 3 * 120
    pd.testing.assert_frame_equal(_per_seed(bigger).loc[["0", "1"]], acc)

    # a changed config must not be mixed into the same folder
    res = cli("run", _tiny(tmp_path, lr=1e-2, name="other.toml"), "--out", out)
    assert res.code == 2 and "different configuration" in res.err


def test_interrupted_run_keeps_finished_seeds(cli, tmp_path, monkeypatch):
    from subliminal_stats.experiments import mlp

    real = mlp.run_seeds
    calls = []

    def flaky(data, settings, seeds, **kw):
        calls.append(list(seeds))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(data, settings, seeds, **kw)

    monkeypatch.setattr(mlp, "run_seeds", flaky)
    toml, out = _tiny(tmp_path, block=1), tmp_path / "run"
    res = cli("run", toml, "--out", out)
    assert res.code == 130 and "rerun the same command to resume" in res.err
    assert [p.name for p in (out / "parts").glob("seed-*.parquet")] == ["seed-00000.parquet"]
    res = cli("run", toml, "--out", out)
    assert res.code == 0, res.err
    assert calls == [[0], [1], [1]]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seeds_reused"] == [0] and manifest["seeds_run_now"] == [1]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace("[teacher]\n", "[teacher]\nepoch = 3\n"), "unknown key 'teacher.epoch'"),
        (lambda s: s.replace("seeds = 2\n", "seed = 2\n"), "unknown key 'seed'"),
        (lambda s: s.replace('experiment = "mlp_digits"', 'experiment = "mlp_digitz"'),
         "unknown experiment kind 'mlp_digitz'"),
        (lambda s: s.replace('experiment = "mlp_digits"\n', ""), "missing key 'experiment'"),
        (lambda s: s.replace("lr = 1e-3", 'lr = "fast"'), "student.lr"),
        (lambda s: s + '\n[data]\nsource = "mnist"\n', "not valid TOML"),
        (lambda s: s.replace("[data]\n", '[data]\nsource = "mnist_idx"\n'), "needs path"),
    ],
)
def test_bad_pipeline_files_give_one_line_errors(cli, tmp_path, edit, message):
    path = tmp_path / "bad.toml"
    path.write_text(edit(TINY_TOML.format(block=2, lr=3e-3)))
    res = cli("run", path, "--out", tmp_path / "run")
    assert res.code == 2
    assert message in res.err and res.err.strip().count("\n") == 0


def test_missing_pipeline_file(cli, tmp_path):
    res = cli("run", tmp_path / "nope.toml")
    assert res.code == 2 and "pipeline file not found" in res.err


def test_experiment_table_form_and_dry_run(cli, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(TINY_TOML.format(block=2, lr=3e-3).replace(
        'experiment = "mlp_digits"', '[experiment]\nkind = "mlp_aux_logits"\nname = "my_mlp"\n', 1
    ).replace("seeds = 2\nthreads = 1\nseeds_per_block = 2\n", "").replace(
        "[experiment]", "seeds = 4\n[experiment]"))
    res = cli("run", path, "--dry-run", "--out", tmp_path / "run")
    assert res.code == 0, res.err
    assert "mlp_aux_logits" in res.out and "seeds: 4 (0 already finished" in res.out
    assert not (tmp_path / "run").exists()


def test_bundled_pipeline_file_is_valid(cli, tmp_path):
    res = cli("run", REPO / "pipelines" / "mlp_digits.toml", "--dry-run", "--out", tmp_path / "x")
    assert res.code == 0, res.err
    assert "seeds: 25" in res.out or "seeds: " in res.out


def test_a_new_kind_registers_without_touching_the_command(cli, tmp_path):
    from subliminal_stats.data.schema import write_responses
    from subliminal_stats.experiments.pipeline import PipelineConfig, RunOutcome, register_runner

    class NumbersConfig(PipelineConfig):
        animal: str = "owl"

    def run(ctx):
        ctx.progress(total_steps=len(ctx.seeds))
        rows = [{"trait": ctx.config.animal, "condition": "treated", "seed": str(s),
                 "question": "q1", "hit": s % 2} for s in ctx.seeds]
        path = write_responses(pd.DataFrame(rows), ctx.out_dir / "responses.parquet")
        ctx.progress(advance=len(ctx.seeds))
        return RunOutcome(path, len(rows), tuple(ctx.seeds), (), {"fake": True})

    register_runner("numbers_transfer_fake", config_model=NumbersConfig, run=run,
                    describe=lambda config, seeds, out: [f"{len(seeds)} seeds of {config.animal}"])
    path = tmp_path / "n.toml"
    path.write_text('experiment = "numbers_transfer_fake"\nanimal = "cat"\nseeds = 3\n')
    res = cli("run", path, "--out", tmp_path / "n")
    assert res.code == 0, res.err
    manifest = json.loads((tmp_path / "n" / "manifest.json").read_text())
    assert manifest["kind"] == "numbers_transfer_fake" and manifest["fake"] is True
    assert read_responses(tmp_path / "n" / "responses.parquet")["trait"].eq("cat").all()
    path.write_text('experiment = "numbers_transfer_fake"\nanimals = "cat"\n')
    res = cli("run", path, "--out", tmp_path / "n2")
    assert res.code == 2 and "unknown key 'animals'" in res.err


def test_without_torch_dry_run_works_and_run_says_what_to_install(cli, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now fails
    toml = _tiny(tmp_path)
    res = cli("run", toml, "--dry-run", "--out", tmp_path / "run")
    assert res.code == 0, res.err
    res = cli("run", toml, "--out", tmp_path / "run")
    assert res.code == 2 and "subliminal-stats[local]" in res.err


def test_mnist_idx_pipeline_runs_on_small_idx_files(cli, tmp_path):
    import numpy as np

    from subliminal_stats.experiments.mnist_idx import MNIST_FILES, write_idx

    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    # two classes that differ in brightness: learnable in a few steps
    labels = {"train": rng.integers(0, 2, 200), "test": rng.integers(0, 2, 50)}
    for split, stem_images, stem_labels in (("train", "train_images", "train_labels"),
                                            ("test", "test_images", "test_labels")):
        y = labels[split]
        x = rng.integers(0, 100, size=(len(y), 28, 28)) + 150 * y[:, None, None]
        write_idx(folder / (MNIST_FILES[stem_images] + ".gz"), x.astype(np.uint8))
        write_idx(folder / MNIST_FILES[stem_labels], y.astype(np.uint8))
    text = (REPO / "pipelines" / "mlp_mnist.toml").read_text()
    text = text.replace('path = "data/mnist"', f'path = "{folder}"').replace(
        "hidden = [256, 256]", "hidden = [16]").replace("batch_size = 1024", "batch_size = 50").replace(
        "learning_rate = 3e-4", "learning_rate = 1e-2")
    toml = tmp_path / "mnist.toml"
    toml.write_text(text)
    res = cli("run", toml, "--seeds", "2", "--out", tmp_path / "run")
    assert res.code == 0, res.err
    table = read_responses(tmp_path / "run" / "responses.parquet")
    assert len(table) == 6 * 2 * 50 and table["experiment"].eq("mlp_mnist").all()
    assert table["question"].str.startswith("mnist-test-").all()
    assert _per_seed(table)["teacher"].min() > 0.9
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["kind"] == "mlp_aux_logits" and manifest["data"]["n_inputs"] == 784
