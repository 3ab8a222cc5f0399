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

# The quick suite end to end: benchmark datasets (HDF5 + POS/ePOS/RRNG + manifest), then the
# full simulate -> emulate -> segment -> score campaign and its HTML report.
demo: $(STAMP)
	$(VENV)/bin/synthapt generate quick --out demo_output/datasets --resume
	$(VENV)/bin/synthapt campaign run quick --out demo_output/campaign --resume
	$(VENV)/bin/synthapt report demo_output/campaign -o demo_output/report

test: $(STAMP)
	$(PY) -m pytest -q
