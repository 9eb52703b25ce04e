#!/usr/bin/env bash
# The README's first command, end to end: `npm run dev` on a fresh clone serves the API, the printed
# curl example answers 201, and a key revoked with the operator CLI is refused at once.
set -euo pipefail
cd "$(dirname "$0")/../.."

log=$(mktemp)
setsid npm run dev >"$log" 2>&1 &
dev_pid=$!
stop_dev() {
  kill -TERM -- "-$dev_pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$dev_pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- "-$dev_pid" 2>/dev/null || true
}
trap stop_dev EXIT

for _ in $(seq 1 600); do
  grep -q 'Try it:' "$log" && break
  kill -0 "$dev_pid" 2>/dev/null || { cat "$log"; echo 'dev-smoke: npm run dev exited early' >&2; exit 1; }
  sleep 0.2
done
grep -q 'Try it:' "$log" || { cat "$log"; echo 'dev-smoke: npm run dev never became ready' >&2; exit 1; }

# Run the curl example exactly as printed.
example=$(sed -n '/^  curl /,/^    -d /p' "$log" | sed 's/\\$//' | tr '\n' ' ')
status=$(eval "${example/curl -sS/curl -sS -o /dev/null -w '%{http_code}'}")
[ "$status" = 201 ] || { cat "$log"; echo "dev-smoke: the printed curl example answered $status, not 201" >&2; exit 1; }
echo "dev-smoke: printed curl example -> $status"

post() {
  curl -sS -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:8787/webhooks \
    -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
    -d '{"url":"https://example.com/hooks","events":["PING"]}'
}
field() { node -e "process.stdout.write(String(JSON.parse(require('fs').readFileSync(0,'utf8'))['$1']))"; }

account=$(npm run -s cli -- accounts create --name 'Smoke test' --json | field id)
key=$(npm run -s cli -- keys create --account "$account" --scopes write:webhooks --json)
token=$(echo "$key" | field token)
key_id=$(echo "$key" | field id)
[ "$(post "$token")" = 201 ] && [ "$(post "$token")" = 201 ] || { echo 'dev-smoke: a CLI-created key was refused' >&2; exit 1; }
npm run -s cli -- keys revoke "$key_id" --json >/dev/null
status=$(post "$token")
[ "$status" = 401 ] || { echo "dev-smoke: a revoked (and cached) key answered $status, not 401" >&2; exit 1; }
echo 'dev-smoke: CLI key create -> 201, revoke -> 401'
