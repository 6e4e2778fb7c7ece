# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BUILD := build
# every study builds into build/<study_id>/; the AMK demo (simulated exports, then panel and results) too
RAW := $(BUILD)/amk/raw_demo
PANEL := $(BUILD)/amk/panel.parquet
RESULTS := $(BUILD)/amk/results.parquet
ANALYSIS_SRC := $(wildcard analysis/*.py)

.PHONY: install sysdeps data results report run test bench lint clean plotly axe

## install: create .venv with the project and its test extras
install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## sysdeps: OS packages the tests need (Debian's chromium and chromedriver for the browser and
## kaleido's figure rendering, redis-server for the cache, poppler-utils to render the brief's pages
## to PNG, DejaVu fonts for the brief's symbols)
sysdeps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null || ! command -v redis-server >/dev/null \
	    || ! command -v pdftoppm >/dev/null || [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then \
	  echo "installing chromium, chromium-driver, redis-server, poppler-utils and fonts-dejavu-core from the OS packages"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver redis-server poppler-utils fonts-dejavu-core; \
	fi

## data: simulated raw exports, the processed demo panel and the results table (rebuilt when stale)
data: $(PANEL) results studies

## results: the cached results table; the command itself skips the work when it is up to date
results: $(PANEL)
	$(PY) -m analysis results --panel $(PANEL) --out $(RESULTS)

$(RAW)/DEMO_SIMULATED.json: data/studies/amk/demo_config.yaml data/studies/amk/codebook.yaml analysis/demo.py | $(STAMP)
	$(PY) -m analysis demo --out $(RAW)

## studies: every shipped study that carries its own data files (data/studies/<id>/ with a
## codebook.yaml and its exports) builds into build/<id>/: panel, results table, diagnostics.
## The AMK demo's simulated exports are generated instead, into build/amk/ (above).
REAL_STUDIES := $(patsubst data/studies/%/codebook.yaml,%,$(wildcard data/studies/*/codebook.yaml))
REAL_STUDIES := $(filter-out amk,$(REAL_STUDIES))
.PHONY: studies
studies: $(foreach s,$(REAL_STUDIES),$(BUILD)/$(s)/panel.parquet)
	@for s in $(REAL_STUDIES); do \
	  $(PY) -m analysis results --panel $(BUILD)/$$s/panel.parquet --out $(BUILD)/$$s/results.parquet || exit 1; \
	done

$(BUILD)/%/panel.parquet: data/studies/%/codebook.yaml $(ANALYSIS_SRC) | $(STAMP)
	$(PY) -m analysis build --raw data/studies/$* --codebook $< --out $@

$(PANEL): $(RAW)/DEMO_SIMULATED.json data/studies/amk/codebook.yaml $(ANALYSIS_SRC) | $(STAMP)
	$(PY) -m analysis build --raw $(RAW) --out $(PANEL)

## report: the slide deck (PPTX) and the printable brief (PDF) of the default view, into reports/
## (figures rendered by kaleido with the OS's Chromium; VIEW='?wave=1&method=ancova' for another view)
report: install sysdeps data
	$(PY) -m components.reports --out reports --view "$(VIEW)"

## run: install (with Chromium, which the slide and brief downloads use), build the demo data, serve http://127.0.0.1:8050
run: install sysdeps data plotly
	$(PY) app.py

## axe: axe-core (accessibility rules the browser test injects), from the npm registry
AXE := $(BUILD)/vendor/axe.min.js
axe: $(AXE)

$(AXE):
	@command -v npm >/dev/null || { SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm; }
	mkdir -p $(@D)
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent axe-core@4 >/dev/null && \
	  tar -xzf axe-core-*.tgz package/axe.min.js package/LICENSE && \
	  mv package/axe.min.js $(CURDIR)/$@.tmp && mv package/LICENSE $(CURDIR)/$(@D)/AXE-LICENSE && \
	  cd $(CURDIR) && rm -rf $$tmp && mv $@.tmp $@

## plotly: the partial plotly.js bundle the app serves instead of the full one (the "basic" dist
## holds scatter, bar and pie, the only trace types the figures draw), from the npm registry, at the
## plotly.js version the installed plotly.py ships with; and regenerator-runtime, served instead of
## Dash's @babel/polyfill (components/delivery.py)
REGENERATOR := $(BUILD)/vendor/regenerator-runtime-$(shell sed -n 's/^REGENERATOR_VERSION = "\(.*\)"/\1/p' components/delivery.py).js
plotly: $(STAMP) $(REGENERATOR)
	@$(MAKE) --no-print-directory $(BUILD)/vendor/plotly-basic-$$($(PY) -c "from plotly.offline import get_plotlyjs_version as v; print(v())").min.js

$(BUILD)/vendor/regenerator-runtime-%.js:
	@command -v npm >/dev/null || { SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm; }
	mkdir -p $(@D)
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent regenerator-runtime@$* >/dev/null && \
	  tar -xzf regenerator-runtime-*.tgz package/runtime.js package/LICENSE && \
	  mv package/runtime.js $(CURDIR)/$@.tmp && mv package/LICENSE $(CURDIR)/$(@D)/REGENERATOR-LICENSE && \
	  cd $(CURDIR) && rm -rf $$tmp && mv $@.tmp $@

$(BUILD)/vendor/plotly-basic-%.min.js:
	@command -v npm >/dev/null || { SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm; }
	mkdir -p $(@D)
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent plotly.js-basic-dist-min@$* >/dev/null && \
	  tar -xzf plotly.js-basic-dist-min-*.tgz package/plotly-basic.min.js package/LICENSE && \
	  mv package/plotly-basic.min.js $(CURDIR)/$@.tmp && mv package/LICENSE $(CURDIR)/$(@D)/PLOTLY-LICENSE && \
	  cd $(CURDIR) && rm -rf $$tmp && mv $@.tmp $@

## test: install what the tests need and run the whole suite (pytest exit 5 = no tests = failure)
test: install sysdeps data plotly $(AXE)
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

## bench: speed and scale against pyfixest/linearmodels; writes bench/last-run.json (~5-10 min)
bench: install sysdeps data plotly
	$(PY) -m bench.run

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(BUILD)
