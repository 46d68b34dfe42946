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

# Ticks per kind of thread of a process ("rdk" librdkafka's, "producer-poll" the threads serving
# producers' delivery reports, "nio" the event loops and the task pool, "other"), as "kind=ticks"
# lines: which part of a service its idle CPU goes to.
# thread_wakes: the same per kind for context switches (how often threads wake, which CPU
# ticks of 10 ms hide when each wake is short).
thread_ticks() { thread_counts "$1" ticks; }
thread_wakes() { thread_counts "$1" wakes; }
thread_counts() {
  local task comm t
  for task in /proc/"$1"/task/*; do
    comm=$(cat "$task/comm" 2>/dev/null) || continue
    if [ "$2" = ticks ]; then
      t=$(awk '{print $14 + $15}' "$task/stat" 2>/dev/null) || continue
    else
      t=$(awk '/ctxt_switches/ {n += $2} END {print n + 0}' "$task/status" 2>/dev/null) || continue
    fi
    case $comm in
      rdk:*) echo "rdk $t" ;;
      kafka-producer) echo "producer-poll $t" ;;
      NIO-*|TSan*|*pool*|*Pool*) echo "nio $t" ;;
      *) echo "other $t" ;;
    esac
  done | awk '{sum[$1] += $2} END {for (k in sum) print k "=" sum[k]}'
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
# "kind=before" and "kind=after" lines → "kind rate" per second, times `scale`.
per_kind() {
  join -t= <(echo "$1" | sort) <(echo "$2" | sort) -a2 \
    | awk -F= -v scale="$3" -v s="$SECONDS_MEASURED" -v f="$4" '{d = (NF == 3 ? $3 - $2 : $2); printf "%s " f "  ", $1, scale * d / s}'
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
