# scripts/bench's plumbing: throwaway servers, data, timing and statistics.
# Sourced by scripts/bench, which sets: tmp (a private directory), ks
# (the keyshift binary), py and here (this directory).

pids=()  # every process we started and must stop, by pid

progress() { printf '[%s +%3ds] %s\n' "$(date -u +%H:%M:%S)" "$SECONDS" "$*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

# stop_pids PID...: stops processes we started and forgets them, so that
# cleanup never signals a pid the system has given to another process since.
stop_pids() {
  local p kept=()
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do [[ " $* " == *" $p "* ]] || kept+=("$p"); done
  pids=("${kept[@]}")
}

# On any exit, errors and Ctrl-C included, stop what we started, then tidy.
tool_pid=""  # the measured tool while it runs, leader of its own process group
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$tool_pid" ]; then kill -TERM -- "-$tool_pid" 2>/dev/null || true; wait "$tool_pid" 2>/dev/null || true; fi
  stop_pids "${pids[@]}"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rc() { local p=$1; shift; redis-cli -h 127.0.0.1 -p "$p" "$@"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
next_port=7600
# Sets $port to a free loopback port (no subshell: next_port must advance).
# A cluster node also listens on port + 10000.
free_port() {
  while port_in_use "$next_port" || port_in_use $((next_port + 10000)); do next_port=$((next_port + 1)); done
  port=$next_port
  next_port=$((next_port + 1))
}

# start_server [ARGS...]: a throwaway redis-server on a free port, in its own
# directory; sets $port and $server_pid. DEBUG lets restore_data reload a
# snapshot (the cheap way to fresh data), and an uncompressed RDB loads fastest.
# In its own session, out of reach of a Ctrl-C (Redis shuts down on SIGINT):
# cleanup stops it.
start_server() {
  free_port
  local dir="$tmp/redis-$port"
  mkdir -p "$dir"
  setsid redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" --daemonize no \
    --logfile "$dir/redis.log" --enable-debug-command local --rdbcompression no --rdbchecksum no \
    "$@" </dev/null >/dev/null 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  local _
  for _ in $(seq 100); do [ "$(rc "$port" ping 2>/dev/null)" = PONG ] && break; sleep 0.1; done
  # Another program may have taken the port between the probe and the bind.
  [ "$(rc "$port" info server | tr -d '\r' | sed -n 's/^process_id://p')" = "$server_pid" ] ||
    die "redis-server on port $port did not start (see $dir/redis.log)"
}

# start_cluster N: N primaries sharing every slot; sets $cluster_ports, $cluster_pids.
start_cluster() {
  local n=$1 addrs=() p _
  cluster_ports=() cluster_pids=()
  for _ in $(seq "$n"); do
    start_server --cluster-enabled yes --cluster-config-file nodes.conf  # in its --dir
    cluster_ports+=("$port") cluster_pids+=("$server_pid") addrs+=("127.0.0.1:$port")
  done
  if [ "$n" = 1 ]; then  # redis-cli --cluster create wants three primaries
    rc "${cluster_ports[0]}" cluster addslotsrange 0 16383 >/dev/null
  else
    redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >"$tmp/cluster-create.log" 2>&1 ||
      die "redis-cli --cluster create failed (see $tmp/cluster-create.log)"
  fi
  for p in "${cluster_ports[@]}"; do
    for _ in $(seq 100); do rc "$p" cluster info | grep -q 'cluster_state:ok' && break; sleep 0.1; done
  done
}

# The slot ranges a cluster node owns ("0-5460 ..."), for workload.lua.
node_spans() { rc "$1" cluster nodes | grep myself | cut -d' ' -f9- | tr -d '\r'; }

# workload PORT ACTION WORKLOAD FIRST LAST EXTRA [SPANS]: runs workload.lua
# (seed or check) in Redis; redis-cli exits 0 on a script error, so the reply
# is checked by the callers.
workload() {
  local p=$1; shift
  rc "$p" --eval "$here/workload.lua" , "$@"
}

# seed PORT WORKLOAD KEYS [PAD]: empties the server and seeds doc:1..N or
# user:1..N in chunks (each EVAL blocks the server; keep them short); sets
# $value_bytes to the mean size of a value.
seed() {
  local p=$1 w=$2 n=$3 pad=${4:-0} first total=0 out chunk=200000
  rc "$p" flushall >/dev/null
  for ((first = 1; first <= n; first += chunk)); do
    out=$(workload "$p" seed "$w" "$first" $((first + chunk - 1 < n ? first + chunk - 1 : n)) "$pad")
    [[ $out =~ ^[0-9]+$ ]] || die "seeding $w failed: $out"
    total=$((total + out))
  done
  value_bytes=$((total / n))
}

# snapshot PORT NAME / restore_data PORT NAME: the seeded dataset saved once,
# then loaded again before every measured run, instead of seeding again.
snapshot() {
  rc "$1" save >/dev/null
  cp "$tmp/redis-$1/dump.rdb" "$tmp/$2.rdb"
}
restore_data() {
  cp "$tmp/$2.rdb" "$tmp/redis-$1/dump.rdb"
  [ "$(rc "$1" debug reload nosave)" = OK ] || die "could not reload snapshot $2"
  rc "$1" script flush >/dev/null
}

# check_data PORT WORKLOAD KEYS [SPANS]: a sample of the keys must hold the
# transformed value; a run that changed nothing (or the wrong thing) would
# measure nothing, so stop loudly. Prints how many keys were checked.
check_data() {
  local out
  out=$(sample "$1" check "$2" "$3" "${4:-}")
  [[ $out == ok* ]] || die "after the run, $2 not transformed on port $1: $out"
  echo "${out#ok }"
}

# sample PORT ACTION WORKLOAD KEYS [SPANS]: dumpsize or digest over a sample.
sample() { workload "$1" "$2" "$3" 1 "$4" 500 "${5:-}"; }

used_memory() { rc "$1" info memory | tr -d '\r' | sed -n 's/^used_memory://p'; }

# timed OUT CMD...: runs CMD with stdout in OUT and stderr in OUT.err, and its
# peak RSS (KiB) in OUT.rss; sets $secs. A failing tool stops the bench.
timed() {
  local out=$1; shift
  local t0 t1 status=0
  t0=$(date +%s.%N)
  # In the background and its own session, so that Ctrl-C or a TERM to the
  # bench interrupts the wait at once; cleanup then stops the tool.
  setsid /usr/bin/time -f '%M' -o "$out.rss" "$@" >"$out" 2>"$out.err" &
  tool_pid=$!
  wait "$tool_pid" || status=$?
  tool_pid=""
  t1=$(date +%s.%N)
  [ "$status" -lt 128 ] || die "killed by signal $((status - 128)): ${*:1:6}"
  [ "$status" = 0 ] || { tail -5 "$out.err" >&2; die "failed (exit $status): ${*:1:6}"; }
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

# The number of keys a tool says it changed: peers print it bare, keyshift
# prints JSON ("changed" of up, "copied" of copy).
changed_count() {
  if [[ $(head -c 20 "$1") =~ ^[0-9]+$ ]]; then head -1 "$1"; return; fi
  grep -o -E '"(changed|copied)": *[0-9]+' "$1" | head -1 | grep -o -E '[0-9]+$'
}

rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# stats V...: "median min max" of numbers (median of an even count: the mean
# of the middle two).
stats() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
    END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.0f %.0f %.0f", m, v[1], v[NR] }'
}

# Samples per figure, by name ("strings.host" ...): space-separated values.
declare -A samples=()
add_sample() { samples[$1]="${samples[$1]:-} $2"; }
# median NAME: the median of a figure's samples (empty if none).
median() { [ -n "${samples[$1]:-}" ] && read -r m _ <<<"$(stats ${samples[$1]})" && echo "$m"; }
