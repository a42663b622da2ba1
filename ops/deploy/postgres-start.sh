#!/bin/sh
# PostgreSQL in the compose file's container: a cluster made on first start
# with a `tanu` role and database, reachable from the compose network only
# (trust there, as on the test machine; give it a password and scram-sha-256
# anywhere else).
set -eu
bin=/usr/lib/postgresql/15/bin
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  "$bin/initdb" -D "$PGDATA" -U postgres --auth=trust >/dev/null
  echo "host all all 0.0.0.0/0 trust" >>"$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  printf 'CREATE ROLE tanu LOGIN;\nCREATE DATABASE tanu OWNER tanu;\n' | "$bin/postgres" --single -D "$PGDATA" postgres >/dev/null
fi
exec "$bin/postgres" -D "$PGDATA"
