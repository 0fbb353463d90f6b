"""The package runs installed from a wheel, from a folder outside the checkout.

Builds the wheel, installs it (no dependencies) into a fresh virtual environment that
reuses this environment's installed libraries, and runs the commands a new user runs first
from an empty folder. Everything the commands need (reports, pipeline configs, bundled data)
must come from inside the wheel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel path, console script of a fresh venv with only the wheel installed)."""
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-q", "-w", str(dist), str(REPO)],
        capture_output=True, text=True, timeout=600,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = dist.glob("subliminal_stats-*.whl")
    env_dir = base / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    # Reuse this environment's libraries: a plain path entry, added after the new venv's own
    # site-packages. Its .pth files are not processed, so the editable install of the
    # checkout stays invisible and only the wheel provides subliminal_stats.
    site = Path(subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True).strip())
    (site / "zz_reuse_parent_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--disable-pip-version-check", "-q", str(wheel)],
        capture_output=True, text=True, timeout=600,
    )
    if install.returncode != 0 and "no such option: --python" in install.stderr:
        install = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(site),
             "--disable-pip-version-check", "-q", str(wheel)],
            capture_output=True, text=True, timeout=600,
        )
    assert install.returncode == 0, install.stderr[-3000:]
    return wheel, env_dir


def _run(env_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{env_dir / 'bin'}:{env['PATH']}"
    env.pop("QUARTO_PATH", None)
    return subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "subliminal_stats", *args],
        cwd=cwd, capture_output=True, text=True, timeout=600, env=env,
    )


def test_wheel_carries_reports_pipelines_and_data(installed):
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "subliminal_stats/resources/reports/paper.qmd",
        "subliminal_stats/resources/reports/trait.qmd",
        "subliminal_stats/resources/reports/_quarto.yml",
        "subliminal_stats/resources/pipelines/owl_numbers_local.toml",
        "subliminal_stats/resources/data/examples/owl_example.csv",
        "subliminal_stats/resources/data/runs/owl_numbers_local/responses.parquet",
    ):
        assert needed in names, needed
    assert not any("__pycache__" in n for n in names)


def test_installed_package_is_the_wheel(installed, tmp_path):
    _, env_dir = installed
    out = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c", "import subliminal_stats; print(subliminal_stats.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout
    assert str(env_dir) in out and str(REPO) not in out


def test_version_demo_and_trait_report_from_an_empty_folder(installed, tmp_path):
    _, env_dir = installed
    from subliminal_stats.version import __version__

    version = _run(env_dir, tmp_path, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"subliminal-stats {__version__}"

    demo = _run(env_dir, tmp_path, "demo", "--out", "o")
    assert demo.returncode == 0, demo.stderr[-2000:]
    paper = tmp_path / "o" / "paper.html"
    assert paper.is_file() and __version__ in paper.read_text(encoding="utf-8")

    my = tmp_path / "my.csv"
    my.write_bytes((REPO / "data" / "examples" / "owl_example.csv").read_bytes())
    trait = _run(env_dir, tmp_path, "report", "trait", "my.csv", "--out", "o2")
    assert trait.returncode == 0, trait.stderr[-2000:]
    assert (tmp_path / "o2" / "trait.html").is_file()
    # Nothing was written into the installed package.
    written = [p for p in (env_dir / "lib").rglob("*.html")]
    assert not written, written


def test_bundled_pipelines_listed_and_runnable_by_name(installed, tmp_path):
    _, env_dir = installed
    listed = _run(env_dir, tmp_path, "pipelines")
    assert listed.returncode == 0, listed.stderr
    assert "owl_numbers_local" in listed.stdout and "mlp_digits" in listed.stdout
    dry = _run(env_dir, tmp_path, "run", "owl_numbers_local", "--dry-run")
    assert dry.returncode == 0, dry.stderr[-2000:]
