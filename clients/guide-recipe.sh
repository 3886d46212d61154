#!/usr/bin/env bash
# Adapter: Box's guide followed to the letter in bash, as a reader of it would write the upload:
# create the session with curl, `split -b <part_size>` the file, for each part
# `openssl sha1 -binary | base64` for the Digest and one curl PUT with its Content-Range, then commit
# with the part records and the whole file's digest, and commit again while the answer is 202. One
# part at a time, no retries: the guide's recipe, not a hardened uploader. JSON is read with node
# (always there beside the kit) rather than jq (often not).
set -euo pipefail
: "${UPLOAD_BASE_URL:?}" "${UPLOAD_TOKEN:?}" "${UPLOAD_FILE:?}" "${UPLOAD_FILE_NAME:?}" "${UPLOAD_FOLDER_ID:?}"

json() { node -e 'let d="";process.stdin.on("data",c=>d+=c).on("end",()=>{const v=eval("JSON.parse(d)"+process.argv[1]);process.stdout.write(typeof v==="string"?v:JSON.stringify(v))})' "$1"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
auth="Authorization: Bearer $UPLOAD_TOKEN"

size=$(wc -c < "$UPLOAD_FILE" | tr -d ' ')
body=$(node -e 'process.stdout.write(JSON.stringify({folder_id:process.argv[1],file_size:Number(process.argv[2]),file_name:process.argv[3]}))' "$UPLOAD_FOLDER_ID" "$size" "$UPLOAD_FILE_NAME")
session=$(curl -sS --fail-with-body -X POST "$UPLOAD_BASE_URL/files/upload_sessions" -H "$auth" -H "Content-Type: application/json" -d "$body")
part_size=$(printf '%s' "$session" | json '.part_size')
upload_part=$(printf '%s' "$session" | json '.session_endpoints.upload_part')
commit=$(printf '%s' "$session" | json '.session_endpoints.commit')
abort=$(printf '%s' "$session" | json '.session_endpoints.abort')
fail() { echo "$1" >&2; curl -sS -X DELETE "$abort" -H "$auth" > /dev/null || true; exit 1; }

split -b "$part_size" -d -a 6 "$UPLOAD_FILE" "$work/part-"
offset=0
parts=""
for part in "$work"/part-*; do
  length=$(wc -c < "$part" | tr -d ' ')
  digest=$(openssl sha1 -binary "$part" | base64)
  answer=$(curl -sS -X PUT "$upload_part" -H "$auth" -H "Digest: sha=$digest" \
    -H "Content-Range: bytes $offset-$((offset + length - 1))/$size" -H "Content-Type: application/octet-stream" \
    --data-binary "@$part" -w '\n%{http_code}') || fail "part at $offset: connection failed"
  [ "$(printf '%s' "$answer" | tail -n 1)" = 200 ] || fail "part at $offset: $(printf '%s' "$answer" | head -n -1)"
  parts="$parts${parts:+,}$(printf '%s' "$answer" | head -n -1 | json '.part')"
  offset=$((offset + length))
done

whole=$(openssl sha1 -binary "$UPLOAD_FILE" | base64)
for _ in $(seq 1 30); do
  answer=$(curl -sS -X POST "$commit" -H "$auth" -H "Content-Type: application/json" -H "Digest: sha=$whole" \
    -d "{\"parts\":[$parts]}" -D "$work/headers" -w '\n%{http_code}') || fail "commit: connection failed"
  status=$(printf '%s' "$answer" | tail -n 1)
  [ "$status" = 201 ] && { echo "committed"; exit 0; }
  [ "$status" = 202 ] || fail "commit: $status $(printf '%s' "$answer" | head -n -1)"
  wait=$(grep -i '^retry-after:' "$work/headers" | tr -dc '0-9')
  sleep "${wait:-1}"
done
fail "commit: still 202"
