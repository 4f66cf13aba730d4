#!/usr/bin/env bash
# Runs one command as the app node runs: with the settings of /etc/marketplace/env (or
# $MARKETPLACE_ENV) exported, from the project root. For cron (deploy/crontab):
#   deploy/run.sh .venv/bin/flask --app wsgi orders expire
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
env_file="${MARKETPLACE_ENV:-/etc/marketplace/env}"
if [ -r "$env_file" ]; then
    set -a
    # shellcheck disable=SC1090
    . "$env_file"
    set +a
fi
cd "$root"
exec "$@"
