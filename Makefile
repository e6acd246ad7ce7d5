# Two commands for a newcomer: `make demo` builds and publishes the demo; `make test` runs the test suite.
# Both bootstrap everything they need: .venv with the locked packages, and Debian's chromium, poppler-utils and
# redis-server (the Celery test's broker).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
UV_VERSION := 0.13.9
WORKSPACE ?= data/demo
SYSTEM_PACKAGES := chromium poppler-utils redis-server

.PHONY: demo test dev bench install system lock clean plotly-bundle

demo: install system
	$(BIN)/csp demo --workspace $(WORKSPACE)

test: install system
	$(BIN)/python -m pytest

dev: install
	@test -f $(WORKSPACE)/warehouse/csp.duckdb || $(BIN)/csp demo --workspace $(WORKSPACE)
	$(BIN)/csp dev --workspace $(WORKSPACE)

bench: install system
	$(BIN)/csp bench
	$(BIN)/csp bench --scale borough --scale force --scale national
	$(BIN)/python -m pipeline.bench_documents --out .bench/bench_documents.json
	$(BIN)/python -m pipeline.bench_refresh --out .bench/bench_refresh.json

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	$(MAKE) --no-print-directory plotly-bundle
	@rm -f $(VENV)/.installed-*
	@touch $@

# plotly.js's cartesian partial bundle (same version as plotly's own) for smaller HTML reports; from npm.
PLOTLY_JS_VERSION := 4.1.1
plotly-bundle:
	@mkdir -p $(VENV)/share/csp
	@cd $(VENV)/share/csp && rm -rf package && npm pack --silent plotly.js-cartesian-dist-min@$(PLOTLY_JS_VERSION) >/dev/null \
	  && tar -xzf plotly.js-cartesian-dist-min-$(PLOTLY_JS_VERSION).tgz package/plotly-cartesian.min.js \
	  && mv package/plotly-cartesian.min.js plotly-cartesian.min.js && rm -rf package plotly.js-cartesian-dist-min-*.tgz
	@echo "plotly.js cartesian bundle $(PLOTLY_JS_VERSION) in $(VENV)/share/csp/"

# Debian packages the renderer, the browser tests and the Celery test (Redis) use; installed when root, otherwise the exact command.
system:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Please install the Debian packages first:  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

# Re-resolve the pinned versions after editing pyproject.toml's dependencies.
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra test --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(WORKSPACE) .pytest_cache
