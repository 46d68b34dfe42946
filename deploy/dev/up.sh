#!/usr/bin/env bash
# Sets up and runs the whole suite locally: installs what is missing, starts Postgres and the broker,
# builds, starts every service, creates a default space with a source and an access token.
# Sandbox mode (ENGAGE_SANDBOX=1, the default) also starts the local SendGrid/Twilio fakes and points
# the default space's providers at them, so messages can be sent without real accounts.
# State (data, logs, PIDs, the secrets key) lives in .dev/ (git-ignored). Stop everything with deploy/dev/down.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ENGAGE_ROOT"

STATE="$ENGAGE_ROOT/.dev"
PG_PORT="${ENGAGE_DEV_PG_PORT:-54329}"
KAFKA_PORT="${ENGAGE_DEV_KAFKA_PORT:-19092}"
CONFIG="${ENGAGE_BUILD_CONFIG:-debug}"
SANDBOX="${ENGAGE_SANDBOX:-1}"
FAKES_PORT="${ENGAGE_DEV_FAKES_PORT:-18025}"
export ENGAGE_ENV="${ENGAGE_ENV:-development}"
export ENGAGE_ADMIN_TOKEN="${ENGAGE_ADMIN_TOKEN:-dev-admin-token}"
mkdir -p "$STATE/run" "$STATE/logs"
# messaging-send and events-source seal secrets (and sign unsubscribe links) with this key: made once, kept.
if [ -z "${ENGAGE_SECRETS_KEY:-}" ]; then
  [ -f "$STATE/secrets-key" ] || (umask 077; head -c 32 /dev/urandom | base64 > "$STATE/secrets-key")
  ENGAGE_SECRETS_KEY=$(cat "$STATE/secrets-key")
fi
export ENGAGE_SECRETS_KEY
# Webhooks may not reach internal addresses; locally, receivers on this machine are allowed.
export ENGAGE_WEBHOOK_ALLOWED_HOSTS="${ENGAGE_WEBHOOK_ALLOWED_HOSTS-127.0.0.1,::1}"
# Provider base URLs: the real APIs, and the sandbox's fakes on this machine (docs/sandbox.md).
export ENGAGE_MESSAGING_PROVIDER_HOSTS="${ENGAGE_MESSAGING_PROVIDER_HOSTS-api.sendgrid.com,api.eu.sendgrid.com,*.twilio.com,127.0.0.1}"

bash deploy/dev/install-deps.sh
start_postgres "$STATE/pg" "$PG_PORT"
start_tansu "$KAFKA_PORT" "$STATE/run/broker.pid" "$STATE/logs/broker.log"

if [ "$SANDBOX" = 1 ]; then
  if [ -f "$STATE/run/provider-fakes.pid" ] && kill -0 "$(cat "$STATE/run/provider-fakes.pid")" 2>/dev/null; then
    log "provider fakes already running"
  else
    python3 Tests/Fakes/provider_fakes.py --port "$FAKES_PORT" >>"$STATE/logs/provider-fakes.log" 2>&1 &
    echo $! > "$STATE/run/provider-fakes.pid"
    wait_until 30 "provider fakes on $FAKES_PORT" bash -c "exec 3<>/dev/tcp/127.0.0.1/$FAKES_PORT"
  fi
fi

log "building ($CONFIG)"
swift build -c "$CONFIG" >/dev/null
BIN="$(swift build -c "$CONFIG" --show-bin-path)"

export ENGAGE_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/engage"
export ENGAGE_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
for entry in $ENGAGE_SERVICES; do
  name=${entry%%:*}; port=${entry##*:}
  pidfile="$STATE/run/$name.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "$name already running"; continue
  fi
  ENGAGE_HTTP_PORT=$port "$BIN/$name" >>"$STATE/logs/$name.log" 2>&1 &
  echo $! > "$pidfile"
done
for entry in $ENGAGE_SERVICES; do
  name=${entry%%:*}; port=${entry##*:}
  wait_until 60 "$name /ready" curl -fsS "http://127.0.0.1:$port/ready"
done

# A default space with a source and a Profile API token, created once.
if [ ! -f "$STATE/default-space.env" ]; then
  admin=(-fsS -H "Authorization: Bearer $ENGAGE_ADMIN_TOKEN" -H 'Content-Type: application/json')
  space=$(curl "${admin[@]}" -d '{"name":"Default"}' http://127.0.0.1:8081/admin/spaces)
  space_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$space")
  source=$(curl "${admin[@]}" -d '{"name":"Default source"}' "http://127.0.0.1:8081/admin/spaces/$space_id/sources")
  token=$(curl "${admin[@]}" -d '{"name":"Default token"}' "http://127.0.0.1:8081/admin/spaces/$space_id/access-tokens")
  python3 - "$space_id" "$source" "$token" > "$STATE/default-space.env" <<'PY'
import json, sys
space_id, source, token = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
print(f"SPACE_ID={space_id}\nSOURCE_ID={source['id']}\nWRITE_KEY={source['writeKey']}\nACCESS_TOKEN={token['token']}")
PY
fi
source "$STATE/default-space.env"

# Sandbox: the default space's SendGrid and Twilio point at the fakes (their accepted credentials
# are listed at the top of Tests/Fakes/provider_fakes.py). The space's token reaches messaging-send
# through engage.spaces, hence the wait.
if [ "$SANDBOX" = 1 ]; then
  FAKES="http://127.0.0.1:$FAKES_PORT"
  space_api=(-fsS -X PUT -H "Authorization: Bearer $ACCESS_TOKEN" -H 'Content-Type: application/json')
  # The fakes sign their SendGrid events with the sandbox's own key, so delivered/open/click events
  # reach messaging-send as signed events do in production (docs/sandbox.md).
  SANDBOX_KEY="$STATE/sandbox-sendgrid.pem"
  [ -f "$SANDBOX_KEY" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$SANDBOX_KEY" 2>/dev/null
  SANDBOX_PUBLIC=$(openssl pkey -in "$SANDBOX_KEY" -pubout -outform DER | base64 -w0)
  python3 -c 'import json,sys; print(json.dumps({"sendgrid_event_url": sys.argv[1], "sendgrid_private_key": open(sys.argv[2]).read()}))' \
    "http://127.0.0.1:8085/webhooks/sendgrid/{space_id}" "$SANDBOX_KEY" | curl -fsS -o /dev/null -X POST "$FAKES/_fake/config" -d @-
  wait_until 60 "sandbox SendGrid settings" curl "${space_api[@]}" \
    -d "{\"apiKey\":\"SG.fake-key-1\",\"baseUrl\":\"$FAKES\",\"fromAddress\":\"hello@sandbox.example\",\"fromName\":\"Sandbox\",\"eventWebhookPublicKey\":\"$SANDBOX_PUBLIC\"}" \
    "http://127.0.0.1:8085/spaces/$SPACE_ID/messaging/providers/sendgrid"
  wait_until 60 "sandbox Twilio settings" curl "${space_api[@]}" \
    -d "{\"accountSid\":\"AC11111111111111111111111111111111\",\"apiKeySid\":\"SK22222222222222222222222222222222\",\"apiKeySecret\":\"fake-api-key-secret\",\"authToken\":\"fake-auth-token\",\"baseUrl\":\"$FAKES\",\"messagingServiceSid\":\"MG33333333333333333333333333333333\",\"whatsappFrom\":\"whatsapp:+14155550001\",\"helpText\":\"Sandbox: reply STOP to opt out.\"}" \
    "http://127.0.0.1:8085/spaces/$SPACE_ID/messaging/providers/twilio"
fi

# The console (web UI) over the six services' APIs. Its session key is made once and kept, so a
# restart does not sign everyone out.
CONSOLE_PORT="${ENGAGE_DEV_CONSOLE_PORT:-8080}"
if [ -z "${ENGAGE_CONSOLE_SESSION_KEY:-}" ]; then
  [ -f "$STATE/console-session-key" ] || (umask 077; head -c 32 /dev/urandom | base64 > "$STATE/console-session-key")
  ENGAGE_CONSOLE_SESSION_KEY=$(cat "$STATE/console-session-key")
fi
if [ -f "$STATE/run/console.pid" ] && kill -0 "$(cat "$STATE/run/console.pid")" 2>/dev/null; then
  log "console already running"
else
  ENGAGE_HTTP_PORT=$CONSOLE_PORT ENGAGE_CONSOLE_SESSION_KEY="$ENGAGE_CONSOLE_SESSION_KEY" \
    "$BIN/console" >>"$STATE/logs/console.log" 2>&1 &
  echo $! > "$STATE/run/console.pid"
fi
wait_until 60 "console /ready" curl -fsS "http://127.0.0.1:$CONSOLE_PORT/ready"

cat <<MSG

swift-engage is running.
  Console           http://127.0.0.1:$CONSOLE_PORT   (sign in with the Profile API token below)
  Tracking API      http://127.0.0.1:8081/v1/track   (write key as Basic auth username)
  Profile API       http://127.0.0.1:8081/v1/spaces/$SPACE_ID/collections/users/profiles/<type>:<value>/traits
  Admin API         http://127.0.0.1:8081/admin/spaces   (Authorization: Bearer $ENGAGE_ADMIN_TOKEN)
  Services          $(for e in $ENGAGE_SERVICES; do printf '%s=http://127.0.0.1:%s ' "${e%%:*}" "${e##*:}"; done)
  Kafka broker      127.0.0.1:$KAFKA_PORT      Postgres  postgres://postgres@127.0.0.1:$PG_PORT/engage
  Space id          $SPACE_ID
  Write key         $WRITE_KEY
  Profile API token $ACCESS_TOKEN
  Messaging         http://127.0.0.1:8085/spaces/$SPACE_ID/templates   (same token; see docs/messaging.md)
  Provider fakes    $([ "$SANDBOX" = 1 ] && echo "http://127.0.0.1:$FAKES_PORT (sandbox: sent messages at /_fake/requests)" || echo "off (ENGAGE_SANDBOX=0)")
  CLI               $BIN/engage config set local --token $ACCESS_TOKEN --admin-token $ENGAGE_ADMIN_TOKEN --brokers 127.0.0.1:$KAFKA_PORT --use
  Logs              .dev/logs/      Stop with: deploy/dev/down.sh
MSG
