#!/usr/bin/env bash
# Seeds an EMPTY Redis with the example data for examples/migrations/.
#
#   examples/seed.sh redis://127.0.0.1:6390/0          2,803 keys
#   examples/seed.sh redis://127.0.0.1:6390/0 10       ten times as many
#   examples/seed.sh redis://127.0.0.1:6390/0 1 force  seed even though the db holds keys
#
# The work happens in examples/seed.lua, run inside Redis with redis-cli --eval.
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  echo "usage: $0 redis://host:port[/db] [SCALE] [force]" >&2
  exit 2
fi
url=$1 scale=${2:-1} force=${3:-}
script="$(dirname "$0")/seed.lua"
# redis-cli exits 0 even when the script returns an error, so check the reply.
out=$(redis-cli -u "$url" --no-auth-warning --eval "$script" , "$scale" $force 2>&1) || true
case "$out" in
  seeded*) echo "$out" ;;
  *) echo "examples/seed.sh: $out" >&2; exit 1 ;;
esac
