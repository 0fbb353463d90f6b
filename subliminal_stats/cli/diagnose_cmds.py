"""Teacher-data diagnostics: ``diagnose``."""


from pathlib import Path
from typing import Annotated, Optional

import typer

from subliminal_stats.cli._app import app, console, err_console

_JSON_HELP = "Write the results as JSON here ('-' = standard output; the tables then go to stderr)."


def _short_names(paths: list[Path]) -> list[str]:
    """File names without .jsonl and without the prefix and suffix all share (e.g. the model)."""
    import os

    stems = [p.name[:-6] if p.name.endswith(".jsonl") else p.stem for p in paths]
    if len(stems) < 2:
        return stems
    def cut(names: list[str]) -> list[str]:
        prefix = os.path.commonprefix(names)
        at = max(prefix.rfind("_"), prefix.rfind("-"), prefix.rfind("."))
        return [n[at + 1:] for n in names] if at >= 0 else names

    short = cut(stems)
    short = [n[::-1] for n in cut([n[::-1] for n in short])]  # and the shared suffix
    return short if all(short) and len(set(short)) == len(short) else stems


@app.command(
    "diagnose",
    help=(
        "Before training: are two teachers' number sequences distinguishable at all, and by what? "
        "Number and digit-position frequency permutation tests (max-T adjusted across features), "
        "a held-out logistic-regression detector with AUROC against the bag size K, and a "
        "format-only baseline (separators, counts, lengths) beside it. Reads teacher outputs "
        "as JSONL: {question, response}, the authors' {prompt, completion}, this package's "
        "completion store or chat training files. With more than two files, each is compared "
        "with the others pooled (--pairs rest) or with each other (--pairs each).\n\n"
        "Example: subliminal-stats diagnose owl.jsonl control.jsonl -o diag/"
    ),
)
def diagnose(
    data: Annotated[list[Path], typer.Argument(help="Teacher output files (JSONL), two or more.")],
    out: Annotated[Optional[Path], typer.Option("-o", "--out", help="Folder for diagnose.md, diagnose.json and the AUROC figure (auroc.svg, auroc.png).")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help=_JSON_HELP)] = None,
    pairs: Annotated[str, typer.Option(help="With 3+ files: 'rest' (each against the others pooled) or 'each' (every pair).")] = "rest",
    resamples: Annotated[int, typer.Option(min=99, max=100_000, help="Permutations per test (99 to 100,000).")] = 1000,
    alternative: Annotated[str, typer.Option(help="Frequency tests: two-sided, greater (A's share above B's) or less.")] = "two-sided",
    alpha: Annotated[float, typer.Option(min=0.0001, max=0.5, help="Level of the verdict (0.0001 to 0.5).")] = 0.05,
    rng: Annotated[int, typer.Option("--rng", min=0, help="Random seed.")] = 0,
    bag_size: Annotated[Optional[list[int]], typer.Option("--bag-size", min=1, max=4096, help="Bag size K of the detector (repeatable; default 1, 8, 16, 64; at most 4,096).")] = None,
    ngram: Annotated[int, typer.Option(min=1, max=3, help="Longest number n-gram the detector reads (1 to 3).")] = 1,
    detector: Annotated[bool, typer.Option("--detector/--no-detector", help="Run the classifier detector and the format baseline.")] = True,
    top: Annotated[int, typer.Option(min=1, max=100, help="Numbers listed each way (1 to 100).")] = 10,
    split_half: Annotated[int, typer.Option("--split-half", min=0, max=10_000, help="Also compare random halves of each file this many times and report the false-positive rate (0 = off; at most 10,000).")] = 0,
    probe: Annotated[bool, typer.Option("--probe/--no-probe", help="Entanglement probe with the local base model: which numbers raise P(trait word); needs --trait. Skipped with a note when no local model is available.")] = False,
    trait: Annotated[Optional[str], typer.Option(help="Trait word for --probe, e.g. owl; the first file is the treated teacher.")] = None,
    probe_numbers: Annotated[int, typer.Option("--probe-numbers", min=1, max=1000, help="Most frequent numbers probed (1 to 1,000).")] = 100,
) -> None:
    import json
    import sys

    from subliminal_stats.data.jsonl import json_safe
    from subliminal_stats.data.outputs import atomic_write, check_output_path, is_stdout
    from subliminal_stats.diagnostics import (
        compare,
        pairs_of,
        read_teacher_outputs,
        split_half_null,
    )
    from subliminal_stats.diagnostics.frequency import ALTERNATIVES
    from subliminal_stats.diagnostics.presentation import (
        auroc_chart,
        chart_bytes,
        pair_markdown,
        summary_markdown,
    )
    from subliminal_stats.errors import InputError

    if alternative not in ALTERNATIVES:
        raise InputError(f"--alternative must be two-sided, greater or less, not {alternative!r}")
    if pairs not in ("rest", "each"):
        raise InputError(f"--pairs must be 'rest' or 'each', not {pairs!r}")
    if len(data) < 2 and not split_half:
        raise InputError("give two or more teacher files to compare (or one with --split-half N)")
    if probe and not trait:
        raise InputError("--probe needs --trait (the trait word, e.g. --trait owl)")
    if json_out is not None and not is_stdout(json_out):
        check_output_path(json_out, inputs=data, what="--json output")
    targets = {}
    if out is not None:
        if out.exists() and not out.is_dir():
            raise InputError(f"--out {out} is a file: give a folder")
        for name in ("diagnose.md", "diagnose.json", "auroc.svg", "auroc.png"):
            targets[name] = check_output_path(out / name, inputs=data, what="output")
    show = err_console if is_stdout(json_out) else console
    bags = tuple(bag_size) if bag_size else (1, 8, 16, 64)

    names = _short_names(list(data))
    datasets = [read_teacher_outputs(p, name=n) for p, n in zip(data, names, strict=True)]
    results = []
    if len(datasets) >= 2:
        for a, b in pairs_of(datasets, pairs):
            err_console.print(f"diagnosing {a.name} vs {b.name} ({len(a):,} vs {len(b):,} sequences)…")
            results.append(compare(a, b, resamples=resamples, alternative=alternative, alpha=alpha,
                                   rng=rng, bag_sizes=bags, run_detector=detector, ngram=ngram))
    nulls = []
    for d in datasets if split_half else ():
        err_console.print(f"split-half null check on {d.name}: {split_half} splits…")
        nulls.append(split_half_null(d, splits=split_half, resamples=min(resamples, 199), alpha=alpha,
                                     rng=rng, run_detector=detector, bag_sizes=bags, ngram=ngram))
    probe_result, probe_note = None, None
    if probe:
        from subliminal_stats.diagnostics.entanglement import (
            entanglement_check,
            frequent_numbers,
            load_probe_backend,
        )
        from subliminal_stats.diagnostics.entanglement import (
            probe_numbers as run_probe,
        )

        backend, probe_note = load_probe_backend()
        if backend is not None:
            treated = datasets[0]
            control = datasets[1] if len(datasets) == 2 else pairs_of(datasets, "rest")[0][1]
            numbers = frequent_numbers(datasets, probe_numbers)
            err_console.print(f"probing {len(numbers)} numbers for P({trait}) with the local model…")
            check = run_probe(backend, numbers, trait=trait)
            probe_result = entanglement_check(check, treated, control, top=min(top, len(numbers)),
                                              resamples=resamples, rng=rng)
        else:
            err_console.print(f"entanglement probe skipped: {probe_note}")

    md = ["# Teacher-data diagnostics", ""]
    if results:
        md += [summary_markdown(results), ""] + [pair_markdown(r, top=top) for r in results]
    for n in nulls:
        rates = ", ".join(f"{k} {v:.1%}" for k, v in n.rates.items())
        md.append(f"Split-half null check on {n.name} ({n.splits} random halves, α = {n.alpha:g}): "
                  f"false positives {rates}; verdict {n.verdict_rate:.1%}.\n")
    if probe_result is not None:
        pr = probe_result.to_dict()
        md += ["## Entanglement probe", "",
               f"P({trait}) after \"{probe_result.probe.lead_in}\": {probe_result.probe.baseline:.4g} "
               f"without a number. Top numbers by lift: "
               + ", ".join(f"{t['number']} (×{2.718281828 ** t['lift']:.2f})" for t in pr["probe"]["top"]) + ".",
               f"Their share in {datasets[0].name}: {pr['share_treated_per_1000']:.2f} vs "
               f"{pr['share_control_per_1000']:.2f} per 1,000 numbers (ratio {pr['ratio']:.2f} "
               f"[{pr['ratio_low']:.2f}, {pr['ratio_high']:.2f}]), one-sided p = {pr['p_value']:.3g}; "
               f"Spearman(lift, log share ratio) = {pr['spearman']:.3f} (p = {pr['spearman_p']:.3g}).", ""]
    elif probe:
        md += ["## Entanglement probe", "", f"Skipped: {probe_note}", ""]
    markdown = "\n".join(md)

    from rich.markdown import Markdown
    from rich.table import Table

    for r in results:
        table = Table(title=r.verdict_line(), title_justify="left", show_lines=False)
        for col in ("test", "p", "Holm p", "detail"):
            table.add_column(col)
        for fam, t in (("number frequencies", r.numbers), ("digit positions", r.digits)):
            tops = ", ".join(row["feature"] for row in t.top(5, direction="a"))
            table.add_row(fam, f"{r.family_p[fam]:.3g}", f"{r.family_p_holm[fam]:.3g}",
                          f"omnibus {t.omnibus_p:.3g}, max-T {t.min_adjusted_p:.3g}; most over in {r.name_a}: {tops}")
        if r.detector is not None:
            curve = "; ".join(f"K={c.k}: {c.auroc:.3f} [{c.ci_low:.3f}, {c.ci_high:.3f}] vs format {f.auroc:.3f}"
                              for c, f in zip(r.detector.content.rows, r.detector.format.rows, strict=True))
            table.add_row("detector", f"{r.family_p['detector']:.3g}", f"{r.family_p_holm['detector']:.3g}", curve)
        show.print(table)
    for n in nulls:
        show.print(f"split-half {n.name}: " + ", ".join(f"{k} {v:.1%}" for k, v in n.rates.items())
                   + f"; verdict {n.verdict_rate:.1%} of {n.splits}")
    if probe_result is not None:
        show.print(Markdown(markdown.split("## Entanglement probe", 1)[1]))
    elif probe:
        show.print(f"entanglement probe skipped: {probe_note}")

    payload = json_safe({"pairs": [r.to_dict(top=top) for r in results],
                         "split_half": [n.to_dict() for n in nulls],
                         "entanglement": None if probe_result is None else probe_result.to_dict(),
                         "entanglement_skipped": probe_note if probe and probe_result is None else None})
    text = json.dumps(payload, indent=2, allow_nan=False) + "\n"
    if json_out is not None:
        if is_stdout(json_out):
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            atomic_write(json_out, text)
            err_console.print(f"wrote {json_out}")
    if out is not None:
        atomic_write(targets["diagnose.md"], markdown)
        atomic_write(targets["diagnose.json"], text)
        if results and detector:
            chart = auroc_chart(results)
            atomic_write(targets["auroc.svg"], chart_bytes(chart, ".svg"))
            atomic_write(targets["auroc.png"], chart_bytes(chart, ".png"))
        err_console.print(f"wrote {out}/diagnose.md, diagnose.json" + (", auroc.svg, auroc.png" if results and detector else ""))
