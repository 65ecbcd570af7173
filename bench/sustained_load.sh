#!/usr/bin/env bash
# Sustained closed-loop load on one embedded gateway: does throughput, RSS or the SQLite WAL drift
# as the database grows? The soak scenario of bench/run.py holds a fixed rate and watches RSS; this
# one runs wrk flat out in STEPS back-to-back steps and prints, after each, requests/s, the
# gateway's RSS, and the sizes of the WAL and the database file.
#
#   bench/sustained_load.sh [SECONDS_PER_STEP=20] [STEPS=6] [CONNECTIONS=8]
#
# Gateway on core 0, simulator and wrk on core 1 (as in bench/run.py); a fresh database in a
# temporary directory, which is printed at the end (logs, database). Needs `make install` and wrk.
set -euo pipefail
STEP_S=${1:-20}
STEPS=${2:-6}
CONNS=${3:-8}
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=$REPO/.venv/bin/python
D=$(mktemp -d /tmp/bytespike-sustained.XXXX)
cd "$D"
port() { "$PY" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
SIM_PORT=$(port)
GW_PORT=$(port)
unset PYTHONPATH
export BYTESPIKE_DATABASE_URL=sqlite:///$D/gateway.db BYTESPIKE_DATA_DIR=$D
export BYTESPIKE_SECRET_KEY=0123456789abcdef0123456789abcdef
export OPENAI_API_KEY=sk-sim OPENAI_BASE_URL=http://127.0.0.1:$SIM_PORT/v1
export ANTHROPIC_API_KEY=sk-sim ANTHROPIC_BASE_URL=http://127.0.0.1:$SIM_PORT
taskset -c 1 "$PY" -m bytespike.simulator --port "$SIM_PORT" --api-key sk-sim --record 0 >sim.log 2>&1 &
SIM=$!
trap 'kill $SIM ${GW:-} 2>/dev/null || true' EXIT
"$PY" -m bytespike users create --email load@example.com --json >/dev/null
"$PY" - <<'PY'
import sqlite3
with sqlite3.connect("gateway.db") as c:  # far above wrk's connections: features on, no 429s
    c.execute("UPDATE users SET tier = 'enterprise', concurrency_limit = 100000")
PY
"$PY" -m bytespike credits grant --email load@example.com --usd 1000000 --json >/dev/null
KEY=$("$PY" -m bytespike keys create --email load@example.com --name load --json |
    "$PY" -c "import json, sys; print(json.load(sys.stdin)['key'])")
taskset -c 0 "$PY" -m bytespike serve --port "$GW_PORT" >gateway.log 2>&1 &
GW=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$GW_PORT/healthz" >/dev/null && break
    sleep 0.1
done
GW_PID=$(pgrep -f "bytespike serve --port $GW_PORT" | tail -1)
cat >req.lua <<LUA
wrk.method = "POST"
wrk.body = '{"model":"gpt-5-4","messages":[{"role":"user","content":"hi"}],"max_tokens":16}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $KEY"
LUA
for i in $(seq 1 "$STEPS"); do
    rps=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"${STEP_S}s" -s req.lua "http://127.0.0.1:$GW_PORT/v1/chat/completions" |
        awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "non-2xx:" $NF}' | tr '\n' ' ')
    echo "step $i: req/s $rps RSS $(($(ps -o rss= -p "$GW_PID") / 1024)) MiB," \
        "WAL $(($(stat -c %s gateway.db-wal 2>/dev/null || echo 0) / 1048576)) MiB," \
        "database $(($(stat -c %s gateway.db) / 1048576)) MiB"
done
echo "work directory: $D"
