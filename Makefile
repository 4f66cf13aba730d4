# Two commands: `make run` and `make test`. Both build .venv on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed

.PHONY: run test lint venv translations translations-update migrate demo clean

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "需要 Python 3.11 ($(PYTHON))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# Compiled catalogs are build output (.gitignore); rebuilt when a .po changes.
translations: venv
	$(BIN)/pybabel -q compile --use-fuzzy -d translations

# Refresh both catalogs from the source (docs/i18n.md): extract every _()/_l() string,
# merge into zh_CN and en keeping existing translations (no fuzzy guesses, obsolete
# entries dropped), copy msgid to msgstr in zh_CN, and list the English still to write.
translations-update: venv
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 \
		--add-location=file --sort-output --no-wrap -o translations/messages.pot .
	for lang in zh_CN en; do \
		$(BIN)/pybabel -q update -i translations/messages.pot -d translations -l $$lang \
			--init-missing --no-fuzzy-matching --ignore-obsolete --no-wrap || exit 1; \
	done
	$(BIN)/python scripts/fill_zh_catalog.py

migrate: translations
	mkdir -p instance
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) demo load

run: demo
	$(FLASK) demo logins
	$(FLASK) run --host 127.0.0.1 --port 5000

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The suite runs on SQLite; when TEST_DATABASE_URL is set it runs the unit and
# integration tests a second time on that PostgreSQL database.
test: translations lint
	env -u TEST_DATABASE_URL $(BIN)/pytest -q
	if [ -n "$$TEST_DATABASE_URL" ]; then $(BIN)/pytest -q tests/unit tests/integration; fi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
