# The two commands of the README are `make run` and `make test`; both set up what they need.
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: setup run shell train test test-fast lint lock purge outbox-requeue notify-new-articles bench scaleout-test agent-add agent-remove agent-reset agent-list line-richmenu

setup:
	@scripts/setup.sh

run: setup
	@$(PY) scripts/run.py

shell: setup
	@$(PY) scripts/run.py --shell

train: setup
	@$(PY) scripts/train.py

test: setup
	@scripts/test.sh

# Lint, format and types (settings in pyproject.toml): ruff's checks, ruff's formatting, and
# mypy (strict for nettrouble/). `make test` runs it first.
lint: setup
	@scripts/lint.sh

# The unit tier of pytest only (markers in pyproject.toml, given in tests/conftest.py): no
# servers, browser or model (about 18 s on a 2-core machine, 20-25 s while it also runs other
# tests). `make test` still runs every tier and every check.
test-fast: setup
	@$(PY) -m pytest -q -m unit

# Benchmarks against a plain `rasa init` bot, also served with the SQL tracker store, in the same
# run: the per-turn budget, the three-column table and the growth of a 300-turn conversation
# (about 25 min; ports 7000-7999).
bench: setup
	@$(PY) scripts/bench.py

# The scale-out profile on this machine (deploy/README.md): PostgreSQL and Redis from Debian
# packages (installed when missing, which needs root), two Rasa and two action servers; then the
# case store's tests on PostgreSQL.
scaleout-test: setup
	@$(PY) scripts/scaleout_test.py
	@scripts/postgres_tests.sh

# Re-pins every package after a change to requirements.txt.
lock: setup
	@(echo "# Every package of the environment, pinned (pip freeze). Regenerate with: make lock"; \
	  $(PY) -m pip freeze --exclude-editable) > constraints.txt

# Deletes conversations and cases not touched for DAYS days: make purge DAYS=90
purge: setup
	@test -n "$(DAYS)" || { echo "usage: make purge DAYS=<number of days to keep>" >&2; exit 2; }
	@$(PY) scripts/purge.py --days $(DAYS)

# Sends again what an outlet refused for good, once its setting is corrected:
# make outbox-requeue OUTLET=slack (webhook, slack or tickets)
outbox-requeue: setup
	@test -n "$(OUTLET)" || { echo "usage: make outbox-requeue OUTLET=<webhook|slack|tickets>" >&2; exit 2; }
	@$(PY) scripts/requeue.py $(OUTLET)

# New-article notices to the LINE and SMS users who asked for them (scripts/notify_new_articles.py,
# nettrouble/notices/): the articles published since the last run, one message per person a day,
# none between 21:00 and 08:00 Japan time (held for the next run in the day). Run it from cron,
# hourly for instance. make notify-new-articles DRY_RUN=1 prints what it would send and sends nothing.
notify-new-articles: setup
	@$(PY) scripts/notify_new_articles.py $(if $(filter-out 0,$(DRY_RUN)),--dry-run)

# The LINE rich menu (scripts/line_richmenu.py): created, its image uploaded, made every user's
# default, older ones of ours deleted; prints its id. Needs LINE_CHANNEL_ACCESS_TOKEN in .env.
# make line-richmenu IMAGE=path only checks the menu and writes its image to path.
line-richmenu: setup
	@$(PY) scripts/line_richmenu.py $(if $(IMAGE),--dry-run '$(IMAGE)')

# Staff accounts of the agent console (scripts/agents.py): make agent-add NAME [ROLE] prints
# the one-time password (ROLE: agent, the default, or supervisor); make agent-remove NAME,
# make agent-reset NAME (a new one-time password), make agent-list. NAME=... ROLE=... work too.
# Make takes the words after the target for goals of their own: they become the script's
# arguments, and no-op goals so that a name like "test" runs nothing else. Setup runs inside
# the recipe, not as a prerequisite, for the same reason (a name "setup" would void it).
AGENT_COMMANDS := agent-add agent-remove agent-reset agent-list
ifneq ($(filter $(AGENT_COMMANDS),$(firstword $(MAKECMDGOALS))),)
AGENT_WORDS := $(wordlist 2,$(words $(MAKECMDGOALS)),$(MAKECMDGOALS))
ifneq ($(AGENT_WORDS),)
.PHONY: $(AGENT_WORDS)
$(eval $(AGENT_WORDS): ; @:)
endif
endif
agent_arg = $(if $(filter command line,$(origin $(1))),'$($(1))')
AGENT_ARGS = $(call agent_arg,NAME) $(foreach word,$(AGENT_WORDS),'$(word)') $(call agent_arg,ROLE)

agent-add agent-remove agent-reset agent-list:
	@scripts/setup.sh
	@$(PY) scripts/agents.py $(patsubst agent-%,%,$@) $(AGENT_ARGS)
