#!/usr/bin/env bash
# Start Debian's PostgreSQL and create the test role and database (idempotent; needs root).
# Then: export TEST_DATABASE_URL=postgresql://director:director@127.0.0.1:5432/director_test
set -euo pipefail
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
pg_ctlcluster "$version" main start 2>/dev/null || true
for _ in $(seq 1 30); do
  su postgres -c "pg_isready -q" && break
  sleep 1
done
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='director'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"CREATE USER director WITH PASSWORD 'director' CREATEDB;\""
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='director_test'\"" | grep -q 1 \
  || su postgres -c "createdb -O director director_test"
echo "postgres: ready"
