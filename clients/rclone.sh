#!/usr/bin/env bash
# Adapter: rclone (Debian's package) uploading one file with its Box backend, as it ships: its Box hosts
# are constants (https://api.box.com/2.0, https://upload.box.com/api/2.0), so it is graded with
# --intercept, and configured by environment only: a remote "box" with a static access token (the token
# rclone would keep after OAuth, as JSON, with an expiry a day away so it never tries to refresh it), the
# kit's folder as the remote's root, and the smallest upload cutoff rclone allows (50,000,000 bytes;
# rclone uploads smaller files in one request, not in a session), so it needs --part-size 16777216 or
# more for the kit's files of 3 parts and more to go through upload sessions. Proxy and CA come from
# HTTPS_PROXY and SSL_CERT_FILE, which Go reads. Everything else is rclone's default (4 transfers, so 4
# parts in flight; 10 low-level retries; 3 retries of the whole copy).
set -euo pipefail
: "${UPLOAD_TOKEN:?}" "${UPLOAD_FILE:?}" "${UPLOAD_FILE_NAME:?}" "${UPLOAD_FOLDER_ID:?}"
command -v rclone > /dev/null || { echo "rclone is not installed (Debian: apt-get install rclone)" >&2; exit 127; }

expiry=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
export RCLONE_CONFIG_BOX_TYPE=box
export RCLONE_CONFIG_BOX_TOKEN="{\"access_token\":\"$UPLOAD_TOKEN\",\"token_type\":\"Bearer\",\"expiry\":\"$expiry\"}"
export RCLONE_CONFIG_BOX_ROOT_FOLDER_ID="$UPLOAD_FOLDER_ID"
export RCLONE_CONFIG_BOX_UPLOAD_CUTOFF=50000000B
# No config file: the remote lives in the environment only (and rclone writes nothing to $HOME).
export RCLONE_CONFIG=/dev/null
exec rclone copyto --verbose "$UPLOAD_FILE" "box:$UPLOAD_FILE_NAME"
