# GridGov: `make run` serves the demo, `make test` runs every check. Both set up what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: setup system-packages run test lint bench clean db-down messages screenshots constraints

setup: system-packages $(VENV)/.installed

# Debian/Ubuntu: PostgreSQL + the matching PostGIS and pgRouting, and Chromium for the browser
# tests; Mapnik (system Python bindings), CJK fonts and GDAL's tools for the base map (render,
# labels, export).
# Skipped when everything is present or when apt-get is not there (then README says what to get).
system-packages:
	@if command -v apt-get >/dev/null 2>&1; then \
	  need=""; \
	  command -v pg_config >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$$need postgresql"; \
	  ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || need="$$need postgis"; \
	  ls /usr/share/postgresql/*/extension/pgrouting.control >/dev/null 2>&1 || need="$$need pgrouting"; \
	  [ -x /usr/bin/chromium ] || need="$$need chromium"; \
	  basemap="python3-mapnik fonts-noto-cjk gdal-bin"; \
	  [ -f /usr/lib/python3/dist-packages/mapnik/__init__.py ] || need="$$need python3-mapnik"; \
	  ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1 || need="$$need fonts-noto-cjk"; \
	  command -v gdalinfo >/dev/null 2>&1 || need="$$need gdal-bin"; \
	  if [ -n "$$need" ]; then \
	    echo "Installing system packages:$$need"; \
	    $(SUDO) apt-get update -qq && \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-common libpq5 && \
	    major=$$(ls /usr/lib/postgresql | sort -n | tail -1) && \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-$$major-postgis-3 postgresql-$$major-pgrouting chromium && \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$basemap; \
	  fi; \
	else echo "apt-get not found: install PostgreSQL, PostGIS 3 and Chromium yourself (see README)."; fi
	@# docker-compose (Debian's, without the engine): tests/test_deploy.py validates the compose file
	@if command -v apt-get >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose \
	  || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose; }; \
	fi

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

# After a deliberate upgrade (pip install -U … in .venv, then `make test`): pin what was tested.
constraints: $(VENV)/.installed
	{ sed -n '1,3p' constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -vi '^gridgov'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

run: setup
	$(BIN)/gridgov db up
	$(BIN)/gridgov migrate
	$(BIN)/gridgov demo
	$(BIN)/gridgov serve --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

bench: setup
	$(BIN)/python -m bench

# The message catalogue (docs/i18n.md): extract every marked text, merge it into each language's
# .po (new entries come in empty), compile the .mo files the server reads. Commit all three.
LOCALE_DIR := web_map/locale
messages: setup
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k t -k tr --no-location --sort-output \
	  --project GridGov --copyright-holder "GridGov contributors" -o $(LOCALE_DIR)/gridgov.pot .
	$(BIN)/pybabel update -i $(LOCALE_DIR)/gridgov.pot -d $(LOCALE_DIR) -D gridgov -l zh_CN \
	  --width 100 --ignore-obsolete --no-fuzzy-matching
	$(BIN)/pybabel compile -d $(LOCALE_DIR) -D gridgov -l zh_CN --statistics

# docs/screenshots/: every page at 390x844 and 1366x768 in zh_CN and en (used by docs/guide.md).
screenshots: setup
	$(BIN)/python -m tools.screenshots

db-down:
	$(BIN)/gridgov db down

clean:
	-$(BIN)/gridgov db down
	rm -rf $(VENV) .gridgov .pytest_cache .mypy_cache .ruff_cache
