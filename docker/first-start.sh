#!/bin/sh
# The image's entrypoint: on the first start of the main instance (`n8n start`, or no command) with
# an empty n8n folder, create the Convergent Store credential and import the templates bound to it,
# as `npm start` does; then hand over to n8n's own entrypoint. Workers and webhook processors
# (`worker`, `webhook`) never import: they share the main instance's database.
#
# The store credential is the embedded SQLite store, or PostgreSQL when CONVERGENT_STORE_HOST is set
# (queue mode: every process must share one store), with CONVERGENT_STORE_PORT / _DATABASE / _USER /
# _PASSWORD / _SCHEMA. CONVERGENT_FIRST_START=false skips all of it.
set -eu

home="${CONVERGENT_HOME:-/opt/convergent}"
next="${CONVERGENT_NEXT_ENTRYPOINT:-/docker-entrypoint.sh}"
stamp="${N8N_USER_FOLDER:-$HOME}/.n8n/.convergent-first-start"

if [ "${CONVERGENT_FIRST_START:-true}" != "false" ] && { [ "$#" -eq 0 ] || [ "$1" = "start" ]; } && [ ! -f "$stamp" ]; then
	work="$(mktemp -d)"
	node -e '
		const e = process.env;
		const data = e.CONVERGENT_STORE_HOST
			? { storageType: "postgres", host: e.CONVERGENT_STORE_HOST, port: Number(e.CONVERGENT_STORE_PORT || 5432),
				database: e.CONVERGENT_STORE_DATABASE || "convergent", user: e.CONVERGENT_STORE_USER || "postgres",
				password: e.CONVERGENT_STORE_PASSWORD || "", ssl: false, schema: e.CONVERGENT_STORE_SCHEMA || "" }
			: { storageType: "embedded", databasePath: "" };
		process.stdout.write(JSON.stringify([{ id: "store", name: "Convergent Store", type: "convergentStoreApi", data }]));
	' > "$work/store-credential.json"
	n8n import:credentials --input="$work/store-credential.json"
	n8n import:workflow --separate --input="$home/templates"
	rm -rf "$work"
	mkdir -p "$(dirname "$stamp")"
	date > "$stamp"
	echo "Convergent: created the Convergent Store credential and imported the templates (Workflows)."
fi

exec "$next" "$@"
