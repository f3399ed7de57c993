#!/bin/sh
# Run once by the postgres image on an empty data directory (/docker-entrypoint-initdb.d), as
# its administrator. Two roles, each owning its own database, each the only one that may
# connect to it: the events' role cannot read the keys of personal data, the keys' role
# cannot read the events (docs/privacy.md, "Where the keys live"). Neither is a superuser.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v events_password="$LOKET_DATABASE_PASSWORD" -v keys_password="$LOKET_KEYSTORE_PASSWORD" <<'SQL'
CREATE ROLE loket LOGIN PASSWORD :'events_password';
CREATE DATABASE loket OWNER loket;
REVOKE CONNECT, TEMPORARY ON DATABASE loket FROM PUBLIC;
CREATE ROLE loket_keys LOGIN PASSWORD :'keys_password';
CREATE DATABASE loket_keys OWNER loket_keys;
REVOKE CONNECT, TEMPORARY ON DATABASE loket_keys FROM PUBLIC;
SQL
