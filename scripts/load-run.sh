#!/usr/bin/env bash
# HTTP load run: the real server (SQLite, demo data) against a bare axum handler that sends
# the same JSON body, on the same machine in the same run. Needs wrk (apt-get install wrk).
# Prints throughput, latency percentiles and the server's memory; docs/performance.md
# records the figures.
#
#   scripts/load-run.sh            # 10 s per measurement
#   DURATION=30s scripts/load-run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
PORT=${PORT:-18080}
BARE_PORT=${BARE_PORT:-18081}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }

cargo build --release --quiet --bin secretary-projects --example bare_json
BIN=target/release/secretary-projects
BARE=target/release/examples/bare_json
TMP=$(mktemp -d)
cleanup() { kill "${SERVER:-}" "${BARE_PID:-}" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

# Resident memory in MB, with its private (anonymous) and file-backed (mostly the
# executable's code) parts.
rss() { awk '/^(VmRSS|RssAnon|RssFile):/ {v[$1]=$2/1024} END {printf "%.1f MB (private %.1f MB, files %.1f MB)", v["VmRSS:"], v["RssAnon:"], v["RssFile:"]}' "/proc/$1/status"; }
peak() { awk '/^VmHWM:/ {printf "%.1f MB", $2/1024}' "/proc/$1/status"; }

DATABASE_URL="sqlite://$TMP/load.db?mode=rwc" RUST_LOG=warn \
  "$BIN" serve --demo --bind "127.0.0.1:$PORT" > "$TMP/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null
# At rest: no request for 12 s. An idle server gives the heap pages freed by its start-up
# work (the demo, its first mail) back to the system after 5-10 s (src/memory.rs).
sleep 12
REST=$(rss $SERVER)

TOKEN=$(curl -fsS -H 'Content-Type: application/json' \
  -d '{"login":"reviewer1","password":"demo"}' "http://127.0.0.1:$PORT/api/v1/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
AUTH="Authorization: Bearer $TOKEN"
ID=$(curl -fsS -H "$AUTH" "http://127.0.0.1:$PORT/api/v1/projects?limit=1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
curl -fsS -H "$AUTH" "http://127.0.0.1:$PORT/api/v1/projects/$ID" > "$TMP/project.json"
curl -fsS -H "$AUTH" "http://127.0.0.1:$PORT/api/v1/projects?limit=20" > "$TMP/list.json"
echo "project answer: $(wc -c < "$TMP/project.json") bytes; list of 20: $(wc -c < "$TMP/list.json") bytes"

"$BARE" "127.0.0.1:$BARE_PORT" "$TMP/project.json" > "$TMP/bare.log" 2>&1 &
BARE_PID=$!
sleep 0.5

# wrk paces each connection with a Lua delay: 10 connections x 10 ms ~ 1,000 requests/s.
cat > "$TMP/pace.lua" <<'LUA'
function delay() return 10 end
LUA

run() { # name, extra wrk args...
  local name=$1; shift
  echo
  echo "=== $name"
  wrk --latency -d "$DURATION" "$@" | grep -E 'Requests/sec|Latency  |  50%|  99%|requests in|Non-2xx'
}

run "bare axum handler, same body ($CONNS connections)" -t2 -c"$CONNS" "http://127.0.0.1:$BARE_PORT/json"
run "read a project with session check ($CONNS connections)" -t2 -c"$CONNS" -H "$AUTH" "http://127.0.0.1:$PORT/api/v1/projects/$ID"
run "list 20 projects with session check ($CONNS connections)" -t2 -c"$CONNS" -H "$AUTH" "http://127.0.0.1:$PORT/api/v1/projects?limit=20"
run "read a project at ~1,000 requests/s (10 connections x 10 ms)" -t2 -c10 -s "$TMP/pace.lua" -H "$AUTH" "http://127.0.0.1:$PORT/api/v1/projects/$ID"
run "list 20 projects at ~1,000 requests/s" -t2 -c10 -s "$TMP/pace.lua" -H "$AUTH" "http://127.0.0.1:$PORT/api/v1/projects?limit=20"

echo
NOW=$(rss $SERVER)
sleep 12
echo "server memory: at rest $REST; peak under load $(peak $SERVER); right after the load $NOW; 12 s later $(rss $SERVER)"
