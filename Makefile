# Two entry points: `make demo` (the main job) and `make test`. Each sets up .venv on first use.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.synthapt-installed

.PHONY: demo test

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev]"
	$(VENV)/bin/synthapt weights fetch
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/synthapt demo --out demo_output

test: $(STAMP)
	$(PY) -m pytest -q
