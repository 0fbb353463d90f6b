"""Many run folders side by side, and SQL over their answers (embedded DuckDB, no server).

A *run folder* holds a ``manifest.json`` (written by ``subliminal-stats run``) and/or a
responses table (``responses.parquet``, ``.csv`` or ``.jsonl``). :func:`list_runs` finds
them under the folders given (to three levels down) and lists their manifests side by
side; :func:`connect` opens an in-memory DuckDB database with two views:

* ``responses`` — every run's answers, one table (columns matched by name), with a
  ``run_folder`` column naming the folder each row comes from;
* ``runs`` — the :func:`list_runs` table.

Examples
--------
>>> from subliminal_stats.bundled import resource
>>> con = connect([resource("data", "runs")])
>>> con.sql("SELECT DISTINCT run_folder FROM responses ORDER BY 1").fetchall()
[('mlp_digits',), ('owl_numbers_local',)]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from subliminal_stats.errors import InputError

__all__ = ["RESPONSE_NAMES", "connect", "find_runs", "list_runs", "query"]

RESPONSE_NAMES = ("responses.parquet", "responses.pq", "responses.csv", "responses.jsonl")
_MAX_DEPTH = 3


def _as_folders(folders: str | Path | Sequence[str | Path] | None) -> list[Path]:
    if folders is None:
        folders = ["."]
    if isinstance(folders, (str, Path)):
        folders = [folders]
    out = []
    for f in folders:
        path = Path(f)
        if not path.exists():
            raise InputError(f"folder not found: {path}")
        if not path.is_dir():
            raise InputError(f"{path} is a file: give run folders (each with manifest.json or "
                             "responses.parquet)")
        out.append(path)
    return out


def _is_run(path: Path) -> bool:
    return (path / "manifest.json").is_file() or any((path / n).is_file() for n in RESPONSE_NAMES)


def find_runs(folders: str | Path | Sequence[str | Path] | None = None) -> list[Path]:
    """Run folders at or under ``folders`` (three levels down at most), in sorted order."""
    found: list[Path] = []
    for root in _as_folders(folders):
        if _is_run(root):
            found.append(root)
            continue
        level = [root]
        for _ in range(_MAX_DEPTH):
            nxt = []
            for folder in level:
                for child in sorted(p for p in folder.iterdir() if p.is_dir()
                                    and not p.name.startswith(".")):
                    (found if _is_run(child) else nxt).append(child)
            level = nxt
    seen, unique = set(), []
    for f in found:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    if not unique:
        shown = ", ".join(map(str, _as_folders(folders)))
        raise InputError(f"no run folder (manifest.json or responses.parquet) in {shown}")
    return unique


def _responses_file(folder: Path) -> Path | None:
    for name in RESPONSE_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def _rows_of(path: Path) -> int | None:
    try:
        if path.suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
    except Exception:  # an unreadable table is listed, its size unknown
        return None
    return None


def list_runs(folders: str | Path | Sequence[str | Path] | None = None) -> pd.DataFrame:
    """One row per run folder: its manifest's plain fields side by side.

    Columns: ``run_folder`` (the folder's name), ``path``, ``responses`` (the table file),
    ``answers`` (rows, for Parquet), then every scalar field of ``manifest.json`` (``kind``,
    ``experiment``, ``n_rows``, ``started_at``, ``wall_seconds``…), ``seeds`` as a
    comma list, and ``tests`` (the manifest's recorded test results, one line each).
    """
    rows = []
    for folder in find_runs(folders):
        row: dict = {"run_folder": folder.name, "path": str(folder)}
        table = _responses_file(folder)
        row["responses"] = table.name if table else None
        row["answers"] = _rows_of(table) if table else None
        manifest = folder / "manifest.json"
        if manifest.is_file():
            try:
                data = json.loads(manifest.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise InputError(f"{manifest}: not valid JSON ({exc})") from None
            if isinstance(data, dict):
                for key, value in data.items():
                    if isinstance(value, (str, int, float, bool)) or value is None:
                        row.setdefault(key, value)
                if isinstance(data.get("seeds"), list):
                    row["seeds"] = ", ".join(map(str, data["seeds"]))
                tests = data.get("test")
                if isinstance(tests, list):
                    row["tests"] = "; ".join(_test_line(t) for t in tests[:6]
                                             if isinstance(t, dict)) or None
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame


def _test_line(t: dict) -> str:
    """``owl vs control (pooled-t): +1.2 pp, p 0.03, transfer`` from a manifest's test row."""
    est, p = t.get("estimate_pp"), t.get("p_adjusted", t.get("p_value"))
    est_s = f"{est:+.3g} pp" if isinstance(est, (int, float)) else "n/a"
    p_s = f"p {p:.2g}" if isinstance(p, (int, float)) else "p n/a"
    verdict = f", {t['verdict']}" if t.get("verdict") else ""
    metric = f" [{t['metric']}]" if t.get("metric") not in (None, "hit") else ""
    return (f"{t.get('trait')}{metric} vs {t.get('control')} ({t.get('method')}): "
            f"{est_s}, {p_s}{verdict}")


def _read_sql(path: Path) -> str:
    quoted = "'" + str(path).replace("'", "''") + "'"
    if path.suffix in (".parquet", ".pq"):
        return f"read_parquet({quoted})"
    if path.suffix == ".csv":
        return f"read_csv_auto({quoted}, header=true)"
    return f"read_json_auto({quoted}, format='newline_delimited')"


def connect(folders: str | Path | Sequence[str | Path] | None = None, *, database: str = ":memory:"):
    """An embedded DuckDB connection with views ``responses`` and ``runs`` over run folders.

    Parameters
    ----------
    folders : path or sequence of paths
        Run folders, or folders holding them (searched three levels down).
    database : str
        DuckDB database (default in memory: nothing is written).

    Returns
    -------
    duckdb.DuckDBPyConnection
        ``con.sql("SELECT …").df()`` gives a DataFrame.
    """
    import duckdb

    runs = list_runs(folders)
    con = duckdb.connect(database)
    parts = []
    for row in runs.itertuples(index=False):
        if row.responses:
            path = Path(row.path) / row.responses
            label = str(row.run_folder).replace("'", "''")
            parts.append(f"SELECT *, '{label}' AS run_folder FROM {_read_sql(path)}")
    if parts:
        con.execute("CREATE VIEW responses AS " + " UNION ALL BY NAME ".join(parts))
    con.register("runs_frame", runs)
    con.execute("CREATE VIEW runs AS SELECT * FROM runs_frame")
    return con


def query(sql: str, folders: str | Path | Sequence[str | Path] | None = None) -> pd.DataFrame:
    """Run one SQL statement over :func:`connect`'s views; a DataFrame.

    Raises
    ------
    InputError
        The SQL is empty or DuckDB refuses it (its message, one line).
    """
    import duckdb

    if not sql or not sql.strip():
        raise InputError("the SQL is empty: e.g. \"SELECT run_folder, avg(hit) FROM responses "
                         "GROUP BY run_folder\"")
    con = connect(folders)
    try:
        result = con.sql(sql)
        if result is None:
            return pd.DataFrame()
        return result.df()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(f"query failed: {first} (views: responses, runs)") from None
    finally:
        con.close()
