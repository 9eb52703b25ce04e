#!/usr/bin/env bash
# The webhook portal in Chromium against npm run dev (test/integrator/portal-browser.ts): starts dev on
# PORT (default 8787), makes the links the suite needs with the CLI as a person would (one that expires
# in 60 s, one whose key is then revoked, another account's key), runs the suite, stops dev.
set -euo pipefail
cd "$(dirname "$0")/../.."
port=${PORT:-8787}
api="http://127.0.0.1:$port"

fail() { echo "portal-browser: $*" >&2; exit 1; }
command -v chromium >/dev/null || fail 'chromium is not installed'
log=$(mktemp)
setsid npm run dev -- --port "$port" >"$log" 2>&1 &
dev_pid=$!
cleanup() {
  pkill -TERM -s "$dev_pid" 2>/dev/null || true
  for _ in $(seq 1 50); do pgrep -s "$dev_pid" >/dev/null || break; sleep 0.2; done
  pkill -KILL -s "$dev_pid" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 600); do
  grep -q 'Try it:' "$log" && break
  kill -0 "$dev_pid" 2>/dev/null || { cat "$log"; fail 'npm run dev exited early'; }
  sleep 0.2
done
grep -q 'Try it:' "$log" || { cat "$log"; fail 'npm run dev never became ready'; }
grep -q "^Webhook portal (until .*): $api/portal#token=ps_" "$log" || { cat "$log"; fail 'the banner has no portal link'; }

field() { node -e "process.stdout.write(String(JSON.parse(require('fs').readFileSync(0,'utf8'))['$1']))"; }
key=$(sed -n 's/^API key (write:webhooks, read:webhooks): //p' "$log")
account=$(sed -n 's/^.* the dev account \([0-9a-f-]*\) .*$/\1/p' "$log")
expired=$(npm run -s cli -- portal open --account "$account" --expires-in-seconds 60 --url "$api" --json)
revoked=$(npm run -s cli -- portal open --account "$account" --read-only --url "$api" --json)
npm run -s cli -- keys revoke "$(echo "$revoked" | field keyId)" --json >/dev/null
other_account=$(npm run -s cli -- accounts create --name 'Portal browser, other' --json | field id)
other_key=$(npm run -s cli -- keys create --account "$other_account" --scopes write:webhooks,read:webhooks --json | field token)

API=$api KEY=$key OTHER_KEY=$other_key EXPIRED_LINK=$(echo "$expired" | field url) \
  EXPIRED_AT=$(echo "$expired" | field expiresAt) REVOKED_LINK=$(echo "$revoked" | field url) \
  npm run -s test:portal || fail 'the portal in the browser (above)'
echo 'portal-browser: passed'
