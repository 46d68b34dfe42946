#!/usr/bin/env bash
# Idle cost: the six services (release builds) started against a private Postgres and broker, left
# alone, and measured over --seconds (default 60) after a settling pause: CPU of each service, of
# Postgres and of the broker (from /proc), and the transactions Postgres committed (what polling
# loops cost). Stops everything it started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ENGAGE_ROOT"

SECONDS_MEASURED=60
SETTLE=15
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) SECONDS_MEASURED=$2; shift 2 ;;
    --settle) SETTLE=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--settle N]" >&2; exit 64 ;;
  esac
done

NAMES=(profiles subscriptions audiences journeys messaging-send events-source)
BIN=$(build_release "${NAMES[@]}")

cleanup() {
  for name in "${NAMES[@]}"; do stop_pid "$WORK/$name.pid"; done
  stop_private_infra
}
trap cleanup EXIT
start_private_infra engage-bench-idle

ENGAGE_SECRETS_KEY="$(head -c 32 /dev/urandom | base64)"
export ENGAGE_SECRETS_KEY
for name in "${NAMES[@]}"; do start_bench_service "$name" "$(free_port)"; done

# Per thread of a process, "tid kind count" lines: CPU ticks (thread_ticks) or voluntary context
# switches, i.e. wakes (thread_wakes: a tick is 10 ms, and an idle thread's wakes are far
# shorter). Kinds: "rdk" librdkafka's threads, "producer-poll" the threads serving producers'
# delivery reports (named kafka-producer), "nio" the event loops and the task pool, "other".
thread_ticks() { thread_counts "$1" ticks; }
thread_wakes() { thread_counts "$1" wakes; }
thread_counts() {
  local task comm t
  for task in /proc/"$1"/task/*; do
    comm=$(cat "$task/comm" 2>/dev/null) || continue
    if [ "$2" = ticks ]; then
      t=$(awk '{print $14 + $15}' "$task/stat" 2>/dev/null) || continue
    else
      t=$(awk '/^voluntary_ctxt_switches/ {print $2}' "$task/status" 2>/dev/null) || continue
    fi
    case $comm in
      rdk:*) kind=rdk ;;
      kafka-producer) kind=producer-poll ;;
      NIO-*|TSan*|*pool*|*Pool*) kind=nio ;;
      *) kind=other ;;
    esac
    echo "${task##*/} $kind $t"
  done
}
commits() {
  runuser -u postgres -- "$(pg_bin)/psql" -h 127.0.0.1 -p "$PG_PORT" -d engage -Atc \
    "SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database"
}

log "settling for ${SETTLE}s, then measuring for ${SECONDS_MEASURED}s"
sleep "$SETTLE"  # a benchmark's measuring window, not synchronisation
declare -A before threads_before wakes_before
for name in "${NAMES[@]}"; do
  before[$name]=$(ticks "$(cat "$WORK/$name.pid")")
  threads_before[$name]=$(thread_ticks "$(cat "$WORK/$name.pid")")
  wakes_before[$name]=$(thread_wakes "$(cat "$WORK/$name.pid")")
done
broker_before=$(ticks "$(cat "$WORK/broker.pid")")
pg_before=$(postgres_ticks)
commits_before=$(commits)
sleep "$SECONDS_MEASURED"
hz=$(getconf CLK_TCK)
percent() { awk -v t="$1" -v hz="$hz" -v s="$SECONDS_MEASURED" 'BEGIN {printf "%.2f", 100 * t / hz / s}'; }
# Per kind, the growth of each thread's count from the "before" lines to the "after" ones (a thread
# started in between counts from 0; one that ended is left out), per second, times `scale`.
per_kind() {
  awk -v scale="$3" -v s="$SECONDS_MEASURED" 'NR == FNR {before[$1] = $3; next}
    {grew[$2] += $3 - ($1 in before ? before[$1] : 0)}
    END {for (k in grew) print k, scale * grew[k] / s}' <(echo "$1") <(echo "$2") \
    | sort | awk -v f="$4" '{printf "%s " f "  ", $1, $2}'
}
printf '%-16s %10s   %s\n' process "CPU %" "by thread kind (CPU %; wakes/s)"
total=0
for name in "${NAMES[@]}"; do
  pid=$(cat "$WORK/$name.pid")
  used=$(( $(ticks "$pid") - before[$name] ))
  total=$((total + used))
  kinds=$(per_kind "${threads_before[$name]}" "$(thread_ticks "$pid")" "$(awk -v hz="$hz" 'BEGIN {print 100 / hz}')" "%.2f")
  wakes=$(per_kind "${wakes_before[$name]}" "$(thread_wakes "$pid")" 1 "%.0f")
  printf '%-16s %10s   %s; %s\n' "$name" "$(percent "$used")" "$kinds" "$wakes"
done
printf '%-16s %10s\n' "six services" "$(percent "$total")"
printf '%-16s %10s\n' postgres "$(percent $(( $(postgres_ticks) - pg_before )))"
printf '%-16s %10s\n' broker "$(percent $(( $(ticks "$(cat "$WORK/broker.pid")") - broker_before )))"
echo "postgres transactions/s: $(awk -v c="$(( $(commits) - commits_before ))" -v s="$SECONDS_MEASURED" 'BEGIN {printf "%.1f", c / s}')"
