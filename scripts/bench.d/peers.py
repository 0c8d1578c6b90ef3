"""The hand-written peers scripts/bench measures keyshift against: what a team
would write instead of using keyshift (no journal, no compare-and-set, no
checkpoint). Each prints the number of keys it changed or copied; the bench
times the whole process, as it times keyshift.

  peers.py transform PORT strings|hashes   SCAN, pipelined GET/HGETALL, transform
                                           here, pipelined SET/HSET
  peers.py evalsha PORT strings|hashes     SCAN, one EVALSHA per key (pipelined)
                                           running evalsha_<workload>.lua
  peers.py copy PORT TO_PORT PATTERN       SCAN, pipelined DUMP + PTTL, pipelined
                                           RESTORE ... REPLACE on the target

Run with Debian's /usr/bin/python3 -I and python3-redis.
"""
import datetime
import json
import os
import sys

import redis

MATCH = {"strings": ("doc:*", "string"), "hashes": ("user:*", "hash")}
SCAN_COUNT = 1000


def connect(port, decode=True):
    return redis.Redis(host="127.0.0.1", port=int(port), decode_responses=decode)


def batches(r, match, type_=None):
    """The keys of every SCAN call, one list per call."""
    cursor = 0
    while True:
        cursor, keys = r.scan(cursor, match=match, count=SCAN_COUNT, _type=type_)
        if keys:
            yield keys
        if cursor == 0:
            return


def transform_string(text):
    doc = json.loads(text)
    if doc.get("v") != 1:
        return None
    doc["v"] = 2
    doc["email_domain"] = doc["email"].split("@", 1)[1]
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def transform_hash(fields):
    created = fields.get("created_at")
    if created is None or created.isdigit():
        return None
    fields["created_at"] = str(int(datetime.datetime.fromisoformat(created).timestamp()))
    return fields


def run_transform(port, workload):
    r, changed = connect(port), 0
    match, type_ = MATCH[workload]
    for keys in batches(r, match, type_):
        read = r.pipeline(transaction=False)
        fetch = read.get if workload == "strings" else read.hgetall
        for k in keys:
            fetch(k)
        write = r.pipeline(transaction=False)
        for k, value in zip(keys, read.execute()):
            if not value:
                continue  # deleted since the SCAN
            if workload == "strings":
                new = transform_string(value)
                if new is not None:
                    write.set(k, new, keepttl=True)
            else:
                new = transform_hash(value)
                if new is not None:
                    write.hset(k, mapping=new)
            changed += new is not None
        write.execute()
    return changed


def run_evalsha(port, workload):
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, f"evalsha_{workload}.lua")) as f:
        script = f.read()
    r, changed = connect(port), 0
    sha = r.script_load(script)
    match, type_ = MATCH[workload]
    for keys in batches(r, match, type_):
        p = r.pipeline(transaction=False)
        for k in keys:
            p.evalsha(sha, 1, k)
        changed += sum(p.execute())
    return changed


def run_copy(port, to_port, pattern):
    src, dst, copied = connect(port, False), connect(to_port, False), 0
    for keys in batches(src, pattern):
        read = src.pipeline(transaction=False)
        for k in keys:
            read.dump(k)
            read.pttl(k)
        replies = read.execute()
        write = dst.pipeline(transaction=False)
        for k, payload, ttl in zip(keys, replies[0::2], replies[1::2]):
            if payload is None:
                continue  # deleted since the SCAN
            write.restore(k, max(ttl, 0), payload, replace=True)
            copied += 1
        write.execute()
    return copied


def main(argv):
    if len(argv) == 3 and argv[0] == "transform":
        print(run_transform(argv[1], argv[2]))
    elif len(argv) == 3 and argv[0] == "evalsha":
        print(run_evalsha(argv[1], argv[2]))
    elif len(argv) == 4 and argv[0] == "copy":
        print(run_copy(argv[1], argv[2], argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
