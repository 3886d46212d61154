#!/usr/bin/env bash
# The guide's recipe as its reader runs it against Box: the same script as guide-recipe.sh, with Box's
# own upload URL written in, not the kit's. Graded with --intercept: curl goes through the kit's proxy
# (https_proxy) and trusts the kit's CA (CURL_CA_BUNDLE), both read from the environment, as curl does.
set -euo pipefail
UPLOAD_BASE_URL=https://upload.box.com/api/2.0 exec bash "$(dirname "$0")/guide-recipe.sh"
