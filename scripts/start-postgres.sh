#!/usr/bin/env bash
# Starts Debian's PostgreSQL and makes the test role and database, for the
# suites that run against a real server (COVE_TEST_DATABASE_URL). Idempotent.
# Prints the URL to use on stdout.
set -euo pipefail

if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q .; then
  pg_createcluster "$version" main >&2
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
  pg_ctlcluster "$version" main start >&2
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" { print $3 }')

as_postgres() { runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(as_postgres -c "select 1 from pg_roles where rolname = 'cove'")" != "1" ]; then
  as_postgres -c "create role cove login createdb password 'cove'" >&2
fi
if [ "$(as_postgres -c "select 1 from pg_database where datname = 'cove_test'")" != "1" ]; then
  as_postgres -c "create database cove_test owner cove" >&2
fi
# Suites make a database of their own per run (and drop it), so the role may create them.
as_postgres -c "alter role cove createdb" >&2
echo "postgres://cove:cove@127.0.0.1:${port}/cove_test"
