#!/bin/sh
# Run once by the official postgres image, when its data volume is created: one role and one
# database for Rasa's conversations, another for the cases. Neither role is a superuser; each
# owns its database, which is all that Rasa and nettrouble.core.db need to create their tables.
# The passwords come from the container's environment (docker-compose.yml, from .env) and are
# quoted by psql itself (:'name'), whatever characters they hold.
set -eu

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v tracker_password="$TRACKER_DB_PASSWORD" -v cases_password="$CASES_DB_PASSWORD" <<'SQL'
CREATE ROLE rasa LOGIN PASSWORD :'tracker_password';
CREATE DATABASE rasa OWNER rasa;
CREATE ROLE nettrouble LOGIN PASSWORD :'cases_password';
CREATE DATABASE nettrouble OWNER nettrouble;
SQL
