#!/usr/bin/env bash
# Restores a dump written by deploy/backup.sh into an EMPTY database.
#
#   deploy/restore.sh DUMP TARGET_URL
#
# TARGET_URL is a PostgreSQL URL (postgresql+psycopg://... accepted) of a database that
# exists and holds no tables (createdb it first). It refuses a database with tables in
# it, so a slip of the finger cannot overwrite the live one. The whole restore is one
# transaction: it lands completely or not at all. Afterwards, run
# `flask --app wsgi db upgrade` with the new code if the dump is from an older version.
set -euo pipefail

dump="${1:?usage: deploy/restore.sh DUMP TARGET_URL}"
target="${2:?usage: deploy/restore.sh DUMP TARGET_URL}"
target="${target/+psycopg/}"
target="${target/#postgres:/postgresql:}"
[ -r "$dump" ] || { echo "cannot read $dump" >&2; exit 1; }

tables=$(psql -X -At -d "$target" -c \
    "select count(*) from pg_tables where schemaname not in ('pg_catalog', 'information_schema')")
if [ "$tables" != "0" ]; then
    echo "refusing: the target database already has $tables table(s); restore into an empty one" >&2
    exit 1
fi
pg_restore --no-owner --no-acl --exit-on-error --single-transaction --dbname="$target" "$dump"
# fresh statistics, or the first queries plan on empty-table guesses
psql -X -q -d "$target" -c "ANALYZE"
echo "restored $dump"
