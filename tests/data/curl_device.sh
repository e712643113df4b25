#!/usr/bin/env bash
# The guide's sequential curl loop ("How to: Upload (Basic)", steps 1-3), as an integrator would first write it:
# for each file, one after the other: create the asset (JSON, x-client-version: 2.0.0, offset = seconds since the
# file was modified), split with ceil(filesize / len(upload_urls)), and PUT each chunk (tail | head, as the guide's
# head/tail) with both headers. No retries, no token refresh, no heartbeat: nothing the guide does not show.
# Run by tests/test_scorecard.py as the device of `c2c check -- bash tests/data/curl_device.sh`.
set -u
for f in "$C2C_CHECK_DIR"/*; do
  size=$(stat -c %s "$f")
  offset=$(( $(date +%s) - $(stat -c %Y "$f") ))
  name=$(basename "$f")
  type=$(python3 -c 'import mimetypes, sys; print(mimetypes.guess_type(sys.argv[1])[0])' "$f")
  answer=$(curl -s -X POST "$C2C_API_URL/v2/devices/assets" \
    --header "Authorization: Bearer $C2C_ACCESS_TOKEN" \
    --header 'Content-Type: application/json' \
    --header 'x-client-version: 2.0.0' \
    --data-binary @- <<__JSON__
{"name": "$name", "filetype": "$type", "filesize": $size, "offset": $offset}
__JSON__
  )
  urls=$(printf '%s' "$answer" | python3 -c '
import json, sys
try:
    print("\n".join(json.load(sys.stdin).get("upload_urls", [])))
except ValueError:
    pass')
  count=$(printf '%s\n' "$urls" | grep -c .)
  [ "$count" -gt 0 ] || continue  # no URLs (refused, or no answer): on to the next file
  chunk=$(( (size + count - 1) / count ))  # math.ceil(filesize / len(upload_urls))
  i=0
  while IFS= read -r url; do
    tail -c +$(( i * chunk + 1 )) "$f" | head -c "$chunk" | \
      curl -s -o /dev/null -X PUT "$url" \
        --header "content-type: $type" \
        --header 'x-amz-acl: private' \
        --data-binary @-
    i=$(( i + 1 ))
  done <<< "$urls"
done
