# Two commands do everything on a fresh machine; each creates .venv itself when missing.
#   make test   — lint + the test suite (what CI runs; includes a smoke build of the book)
#   make test-fast — lint + the tests not marked slow (the inner loop; no book build)
#   make book   — build the Jupyter Book; prints the path of its index.html
#                 make book [DATASET=synthetic] [DATA_ROOT=DIR] [PROFILE=cpu] [SEEDS=0,1,2]
#                           (SEEDS default: 0,1,2; PROFILE=smoke: 0)
#                           [RUNS_ROOT=runs/book-PROFILE-DATASET] [OUT=_build]
#                           [SPEECH_ROOT=DIR]  (real RAVDESS speech for chapter 10; default
#                            ../shared/data/ravdess-speech when it exists, SPEECH_ROOT= skips)
# Set-up is re-run whenever pyproject.toml changes.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.cmaf-installed

DATASET   ?= synthetic
DATA_ROOT ?=
PROFILE   ?= cpu
SEEDS     ?=
RUNS_ROOT ?=
OUT       ?= _build
SPEECH_ROOT ?= $(if $(wildcard ../shared/data/ravdess-speech/Actor_01),../shared/data/ravdess-speech)

.PHONY: test test-fast lint venv book clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The torch set (torch 2.14.1, torchvision 0.29.1, torchaudio 2.11.0) is pinned in
	# pyproject.toml; on x86_64 / Python 3.11 pip takes it from local wheels in about a minute.
	$(PY) -m pip install --quiet -e '.[dev,book]'
	@touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# Two pytest-xdist workers, a test module per worker at a time (module fixtures built once).
TEST_WORKERS ?= 2

test: lint
	$(VENV)/bin/pytest -q -ra -n $(TEST_WORKERS) --dist loadfile

test-fast: lint
	$(VENV)/bin/pytest -q -ra -n $(TEST_WORKERS) --dist loadfile -m "not slow"

book: $(STAMP)
	$(VENV)/bin/cmaf book --dataset '$(DATASET)' --profile '$(PROFILE)' $(if $(SEEDS),--seeds '$(SEEDS)') \
		--out '$(OUT)' $(if $(DATA_ROOT),--data-root '$(DATA_ROOT)') \
		$(if $(RUNS_ROOT),--runs-root '$(RUNS_ROOT)') \
		$(if $(SPEECH_ROOT),--speech-root '$(SPEECH_ROOT)')

clean:
	rm -rf $(VENV) build _build book/_build .pytest_cache .ruff_cache
