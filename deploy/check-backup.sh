#!/usr/bin/env bash
# Proves that backups restore: takes a dump with deploy/backup.sh, restores it into a
# scratch database on the same server with deploy/restore.sh, and compares the bureau's
# `report summary` (every channel, all dates) and the ledger's row counts with the live
# database's. Exit 0 when they agree.
#
#   deploy/check-backup.sh
#
# The live figures are read just before and just after the dump; when a sale lands in
# between (they differ), the dump is taken again, up to three times.
#
# Needs DATABASE_URL (the live database) and the right to create a database. The scratch
# database is dropped again whatever happens. Run it weekly from cron (deploy/crontab).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
flask="${FLASK:-$root/.venv/bin/flask}"
: "${DATABASE_URL:?DATABASE_URL must name the live PostgreSQL database}"
live="${DATABASE_URL/+psycopg/}"
live="${live/#postgres:/postgresql:}"

workdir="$(mktemp -d)"
scratch_name="marketplace_restore_check_$$"
base="${live%/*}"                 # the server, without the database name
query=""
[[ "$live" == *\?* ]] && query="?${live#*\?}"
scratch="$base/$scratch_name$query"
admin="$base/postgres$query"

cleanup() {
    psql -X -q -d "$admin" -c "DROP DATABASE IF EXISTS \"$scratch_name\" WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$workdir"
}
trap cleanup EXIT

summary() {
    (cd "$root" && DATABASE_URL="$1" "$flask" --app wsgi report summary --format json)
}
counts() {
    psql -X -At -d "$1" -c "select 'orders', count(*) from orders union all
        select 'order_lines', count(*) from order_lines union all
        select 'attributions', count(*) from attributions union all
        select 'refunds', count(*) from refunds order by 1"
}
figures() { summary "$1"; counts "$1"; }

dump=""
for attempt in 1 2 3; do
    figures "$live" >"$workdir/before"
    dump="$(BACKUP_KEEP=1 "$here/backup.sh" "$workdir/dumps")"
    figures "$live" >"$workdir/live"
    cmp -s "$workdir/before" "$workdir/live" && break
    echo "sales landed during dump $attempt; taking it again" >&2
    dump=""
done
[ -n "$dump" ] || { echo "backup check: the database kept changing; run it at a quieter hour" >&2; exit 2; }

psql -X -q -d "$admin" -c "CREATE DATABASE \"$scratch_name\" ENCODING 'UTF8' TEMPLATE template0"
"$here/restore.sh" "$dump" "$scratch" >/dev/null

figures "$scratch" >"$workdir/restored"

if ! diff -u "$workdir/live" "$workdir/restored"; then
    echo "backup check FAILED: the restored database differs from the live one" >&2
    exit 1
fi
echo "backup check passed: $(basename "$dump") restores to the same report summary and ledger"
