#!/usr/bin/env bash
# HTTP load run: the real server (SQLite, demo data) against a bare axum handler that sends
# the same JSON body, on the same machine in the same run; then the pages a person opens (a
# project page and a home page, signed in through the sign-in form as a browser is) held at a
# fixed rate by examples/fixed_rate.rs, with the bytes each page transfers. Needs wrk
# (apt-get install wrk) and curl. Prints throughput, latency percentiles and the server's
# memory; docs/performance.md records the figures.
#
#   scripts/load-run.sh            # 10 s per measurement
#   DURATION=30s scripts/load-run.sh
#   PAGE_RATE=500 PAGES_ONLY=1 scripts/load-run.sh   # only the pages (and the bare handler)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
PORT=${PORT:-18080}
BARE_PORT=${BARE_PORT:-18081}
PAGE_RATE=${PAGE_RATE:-500}
PAGES_ONLY=${PAGES_ONLY:-0}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }

cargo build --release --quiet --bin secretary-projects --example bare_json --example fixed_rate
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/release/secretary-projects
BARE=$TARGET/release/examples/bare_json
FIXED=$TARGET/release/examples/fixed_rate
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
# The page measured: a project with the most on it (road map, reports, guidance, score sheets,
# review team, codes, a long history): one in the resident appraisal if the demo has one.
PAGE_ID=$(curl -fsS -H "$AUTH" "http://127.0.0.1:$PORT/api/v1/projects?limit=100" |
  python3 -c 'import json,sys
items = json.load(sys.stdin)["items"]
rank = {"resident_appraisal": 0, "upper_review": 1, "scoring": 2, "closed": 3}
print(min(items, key=lambda p: rank.get(p["stage"], 9))["id"])')
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

if [ "$PAGES_ONLY" != 1 ]; then
run "bare axum handler, same body ($CONNS connections)" -t2 -c"$CONNS" "http://127.0.0.1:$BARE_PORT/json"
run "read a project with session check ($CONNS connections)" -t2 -c"$CONNS" -H "$AUTH" "http://127.0.0.1:$PORT/api/v1/projects/$ID"
run "list 20 projects with session check ($CONNS connections)" -t2 -c"$CONNS" -H "$AUTH" "http://127.0.0.1:$PORT/api/v1/projects?limit=20"
run "read a project at ~1,000 requests/s (10 connections x 10 ms)" -t2 -c10 -s "$TMP/pace.lua" -H "$AUTH" "http://127.0.0.1:$PORT/api/v1/projects/$ID"
run "list 20 projects at ~1,000 requests/s" -t2 -c10 -s "$TMP/pace.lua" -H "$AUTH" "http://127.0.0.1:$PORT/api/v1/projects?limit=20"
fi

# --- The pages, as a browser gets them.
# Sign in through the form: the sign-in page sets the csrf cookie and carries the same token in
# its `_csrf` field; the post answers with the session cookie. Prints the session token.
page_session() { # login
  local jar="$TMP/jar-$1"
  curl -fsS -c "$jar" -b "$jar" "http://127.0.0.1:$PORT/login" > "$TMP/login-$1.html"
  local csrf
  csrf=$(sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' "$TMP/login-$1.html" | head -n 1)
  curl -fsS -c "$jar" -b "$jar" -o /dev/null --data-urlencode "_csrf=$csrf" \
    --data-urlencode "login=$1" --data-urlencode "password=demo" --data-urlencode "next=/home" \
    "http://127.0.0.1:$PORT/login"
  awk '$6 == "sp_session" {print $7}' "$jar"
}
# Bytes a first visit transfers (headers and bodies): the page and each stylesheet it links.
page_bytes() { # path, cookie header
  local url="http://127.0.0.1:$PORT$1" html css total
  html=$(curl -fsS -H "$2" -o "$TMP/page.html" -w '%{size_header} %{size_download}' "$url")
  total=$(( ${html% *} + ${html#* } ))
  css=0
  for href in $(grep -o '<link rel="stylesheet" href="[^"]*"' "$TMP/page.html" | sed 's/.*href="//; s/"$//'); do
    css=$(( css + $(curl -fsS -o /dev/null -w '%{size_header} + %{size_download}' "http://127.0.0.1:$PORT$href") ))
  done
  echo "$1: HTML ${html#* } bytes (+ ${html% *} of headers), stylesheets $css bytes; $(( total + css )) bytes in all"
}
fixed() { # name, URL, header...
  local name=$1; shift
  echo
  echo "=== $name at $PAGE_RATE requests/s"
  "$FIXED" "$1" "$PAGE_RATE" "${DURATION%s}" 16 "${@:2}"
}
SECRETARY="Cookie: sp_session=$(page_session secretary1)"
REVIEWER="Cookie: sp_session=$(page_session reviewer1)"
[ "$SECRETARY" != "Cookie: sp_session=" ] && [ "$REVIEWER" != "Cookie: sp_session=" ] ||
  { echo "signing in through the form failed"; exit 1; }
echo
page_bytes "/projects/$PAGE_ID" "$REVIEWER"
page_bytes "/home" "$SECRETARY"
page_bytes "/home" "$REVIEWER"
fixed "bare axum handler" "http://127.0.0.1:$BARE_PORT/json"
fixed "project page /projects/$PAGE_ID (reviewer1)" "http://127.0.0.1:$PORT/projects/$PAGE_ID" "$REVIEWER"
fixed "home page /home (secretary1)" "http://127.0.0.1:$PORT/home" "$SECRETARY"
fixed "home page /home (reviewer1)" "http://127.0.0.1:$PORT/home" "$REVIEWER"
run "project page, as fast as it goes ($CONNS connections)" -t2 -c"$CONNS" -H "$REVIEWER" "http://127.0.0.1:$PORT/projects/$PAGE_ID"
run "home page (secretary1), as fast as it goes ($CONNS connections)" -t2 -c"$CONNS" -H "$SECRETARY" "http://127.0.0.1:$PORT/home"

echo
NOW=$(rss $SERVER)
sleep 12
echo "server memory: at rest $REST; peak under load $(peak $SERVER); right after the load $NOW; 12 s later $(rss $SERVER)"
