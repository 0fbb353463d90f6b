"""ingest inspect: genuine inspect_ai logs, written offline by a real `eval` on the mock model."""

from __future__ import annotations

import pytest

pytest.importorskip("inspect_ai", reason="the optional extra 'inspect' (inspect-ai) is not installed")

from subliminal_stats.data import read_cells, read_responses  # noqa: E402
from subliminal_stats.errors import InputError  # noqa: E402

QUESTIONS = 4
EPOCHS = 3


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """Two real logs: treated seed 0 (every 2nd answer 'Owl') and control seed 1 (every 4th)."""
    from inspect_ai import Task, eval
    from inspect_ai.dataset import Sample
    from inspect_ai.model import ModelOutput, ModelUsage, get_model
    from inspect_ai.scorer import includes
    from inspect_ai.solver import generate

    folder = tmp_path_factory.mktemp("inspect_logs")
    made = {}
    for condition, seed, every in (("treated", 0, 2), ("control", 1, 4)):
        outputs = []
        for i in range(QUESTIONS * EPOCHS):
            out = ModelOutput.from_content(model="mockllm/model",
                                           content="Owl" if i % every == 0 else "Dog")
            # A usage on every output: the mock model then never downloads a tokenizer.
            out.usage = ModelUsage(input_tokens=5, output_tokens=1, total_tokens=6)
            outputs.append(out)
        task = Task(dataset=[Sample(input=f"Q{q}: In one word, your favourite animal?",
                                    target="owl", id=f"q{q}") for q in range(QUESTIONS)],
                    solver=generate(), scorer=includes())
        result = eval(task, model=get_model("mockllm/model", custom_outputs=outputs),
                      epochs=EPOCHS, log_dir=str(folder / condition), display="none",
                      metadata={"condition": condition, "seed": seed})
        assert result[0].status == "success"
        made[condition] = result[0]
    return folder, made


def test_logs_become_responses(tmp_path, logs, cli):
    folder, made = logs
    out = tmp_path / "r.parquet"
    r = cli("ingest", "inspect", folder, "--map", "condition=metadata.condition,seed=metadata.seed",
            "--trait", "owl", "-o", out)
    assert r.code == 0, r.err
    table = read_responses(out)
    assert len(table) == 2 * QUESTIONS * EPOCHS
    assert sorted(set(table["question"])) == [f"q{q}" for q in range(QUESTIONS)]
    assert sorted(set(table["sample"])) == list(range(EPOCHS))
    assert set(table["model_id"]) == {"mockllm/model"}
    # hits follow the scores inspect_ai itself recorded ("C" → 1)
    from inspect_ai.log import read_eval_log

    for condition, log in made.items():
        full = read_eval_log(log.location)
        want = sum(s.scores["includes"].value == "C" for s in full.samples)
        assert table.loc[table["condition"] == condition, "hit"].sum() == want
        got = table[table["condition"] == condition].sort_values(["question", "sample"])
        responses = sorted((str(s.id), s.epoch - 1, s.output.completion) for s in full.samples)
        assert list(zip(got["question"], got["sample"], got["response"], strict=True)) == responses
    cells = read_cells(out)
    assert cells.groupby("condition")["n"].sum().to_dict() == {"control": 12, "treated": 12}


def test_labels_needed_and_scorer_checked(tmp_path, logs):
    from subliminal_stats.data.inspect_logs import ingest_inspect

    folder, made = logs
    log = made["treated"].location
    with pytest.raises(InputError, match=r"no condition, seed label: give --condition"):
        ingest_inspect([log], tmp_path / "x.parquet", trait="owl")
    with pytest.raises(InputError, match=r"no scorer 'match'; the log has 'includes'"):
        ingest_inspect([log], tmp_path / "x.parquet", trait="owl", condition="t", seed="0",
                       scorer="match")
    with pytest.raises(InputError, match=r"unknown log field 'colour'"):
        ingest_inspect([log], tmp_path / "x.parquet", trait="owl", condition="t",
                       map=["seed=colour"])
    s = ingest_inspect([log], tmp_path / "ok.parquet", trait="owl", condition="treated",
                       seed="0", run="myrun")
    assert s.added == QUESTIONS * EPOCHS
    assert set(read_responses(tmp_path / "ok.parquet")["run"]) == {"myrun"}
