# Everything is installed inside the checkout: .tools/ holds uv, .venv/ the locked environment.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv
HOME_DIR ?= var

.PHONY: demo test dev lint bench bench-ingest bench-marts clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Compiled at install: where PYTHONDONTWRITEBYTECODE is set (as on our machines) Python would otherwise compile
# every module it imports, every time: great-expectations alone took 16 s to import instead of 6.
.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --compile-bytecode --python $(PYTHON) --quiet
	touch $@

demo: .venv/.synced
	.venv/bin/pmo demo --home $(HOME_DIR)

test: .venv/.synced
	.venv/bin/pytest

dev: .venv/.synced
	mkdir -p $(HOME_DIR)/dagster && [ -f $(HOME_DIR)/dagster/dagster.yaml ] || cp dagster.yaml $(HOME_DIR)/dagster/
	DAGSTER_HOME=$(CURDIR)/$(HOME_DIR)/dagster PMO_HOME=$(CURDIR)/$(HOME_DIR) .venv/bin/dagster dev -h 127.0.0.1 -p 3000

lint: .venv/.synced
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

SCALE ?= full
bench: .venv/.synced
	.venv/bin/python -m bench.run --scale $(SCALE)

bench-ingest: .venv/.synced
	.venv/bin/python -m bench.ingest --scale $(SCALE)

bench-marts: .venv/.synced
	.venv/bin/python -m bench.marts --scale $(SCALE)

clean:
	rm -rf .venv .tools var
