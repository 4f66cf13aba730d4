#!/usr/bin/env bash
# A PostgreSQL backup of the marketplace: pg_dump's custom format (compressed, restorable
# table by table with pg_restore), one file per run, the newest BACKUP_KEEP kept.
#
#   deploy/backup.sh [DIR]        # DIR defaults to $BACKUP_DIR, else /var/backups/marketplace
#
# Reads DATABASE_URL as the app does (postgresql+psycopg://... is accepted). Prints the
# path of the file it wrote. Run it daily from cron (deploy/crontab); copy the files off
# the machine (they hold personal data: keep them where the database is kept).
set -euo pipefail

: "${DATABASE_URL:?DATABASE_URL must name the PostgreSQL database to back up}"
dir="${1:-${BACKUP_DIR:-/var/backups/marketplace}}"
keep="${BACKUP_KEEP:-14}"
url="${DATABASE_URL/+psycopg/}"      # libpq does not know SQLAlchemy's driver suffix
url="${url/#postgres:/postgresql:}"

mkdir -p "$dir"
chmod 700 "$dir"
file="$dir/marketplace-$(date -u +%Y%m%dT%H%M%SZ).dump"
# write under a temporary name: a half-written dump never looks like a backup
pg_dump --format=custom --no-owner --no-acl --file="$file.partial" "$url"
mv "$file.partial" "$file"
chmod 600 "$file"

# the newest $keep dumps stay
ls -1t "$dir"/marketplace-*.dump 2>/dev/null | tail -n +"$((keep + 1))" | xargs -r rm -f
echo "$file"
