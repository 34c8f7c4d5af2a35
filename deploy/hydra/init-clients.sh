#!/bin/sh
# One-shot: registers the OAuth2 clients in deploy/hydra/clients/*.json with Hydra's admin
# API, creating each client or, when it exists already (the sqlite volume survives
# `docker compose down`), replacing it with the file's definition. Safe to run again.
#
# Why curl and not `hydra create client`: the Hydra 2.x CLI has no flag to choose the
# client id (it generates a UUID), and the demo needs the fixed id `reporting-service`.
# The admin API accepts a chosen `client_id` since Hydra 2.2.
set -eu

admin="${HYDRA_ADMIN_URL:-http://hydra:4445}"

echo "waiting for ${admin}/health/ready"
tries=0
until curl -fs -o /dev/null "${admin}/health/ready"; do
  tries=$((tries + 1))
  if [ "$tries" -ge 120 ]; then
    echo "error: Hydra's admin API did not become ready" >&2
    exit 1
  fi
  sleep 1
done

for file in /clients/*.json; do
  id=$(sed -n 's/^ *"client_id": *"\([^"]*\)".*/\1/p' "$file" | head -n 1)
  if [ -z "$id" ]; then
    echo "error: no client_id in $file" >&2
    exit 1
  fi
  if curl -fs -o /dev/null "${admin}/admin/clients/${id}"; then
    curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/json' \
      --data-binary "@${file}" "${admin}/admin/clients/${id}"
    echo "updated client ${id}"
  else
    curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
      --data-binary "@${file}" "${admin}/admin/clients"
    echo "created client ${id}"
  fi
done
