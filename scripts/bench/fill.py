#!/usr/bin/env python3
"""Bulk-inserts synthetic sessions straight into a Clearance database, for
benchmarks that need far more rows than the API could create in the time.
Rows look like API-created sessions without personal data; the live counts
and the session-number counter are kept in step.

  fill.py --sqlite PATH | --postgres URL --workflow ID --count N --mix MIX [--ids-out FILE]

MIX is `status=weight,...`, e.g. "In Review=1" or the list benchmark's
"In Review=5,Approved=60,Declined=20,Not Started=10,Expired=5".
"""
import argparse
import os
import sqlite3
import subprocess
import time
import uuid


def parse_mix(text):
    parts = [p.split("=") for p in text.split(",")]
    return [(name.strip(), int(weight)) for name, weight in parts]


def status_for(i, mix):
    total = sum(w for _, w in mix)
    slot = i % total
    for name, weight in mix:
        if slot < weight:
            return name
        slot -= weight
    raise AssertionError


def fill_sqlite(path, args, mix):
    db = sqlite3.connect(path, timeout=60)
    db.execute("PRAGMA busy_timeout = 60000")
    cur = db.cursor()
    cur.execute("BEGIN IMMEDIATE")
    start = cur.execute("SELECT value FROM counters WHERE name = 'session_number'").fetchone()[0]
    now = int(time.time() * 1000)
    ids = []
    counts = {}
    rows = []
    for i in range(args.count):
        number = start + i + 1
        status = status_for(i, mix)
        counts[status] = counts.get(status, 0) + 1
        sid = str(uuid.uuid4())
        if status == "In Review":
            ids.append(sid)
        rows.append((sid, number, args.environment, "user", args.workflow, args.version, status, f"bench-{number}",
                     uuid.uuid4().hex + uuid.uuid4().hex[:8], '{"attempts_used":0,"nodes":[]}',
                     now + 7 * 86400000, now - (args.count - i), now - (args.count - i), 0))
        if len(rows) == 50000:
            insert_sqlite(cur, rows)
            rows = []
    insert_sqlite(cur, rows)
    cur.execute("UPDATE counters SET value = ? WHERE name = 'session_number'", (start + args.count,))
    for status, n in counts.items():
        cur.execute("UPDATE session_counts SET count = count + ? WHERE environment = ? AND kind = 'user' AND status = ?",
                    (n, args.environment, status))
    db.commit()
    # As after any bulk load: fresh planner statistics.
    db.execute("ANALYZE")
    db.close()
    return ids


def insert_sqlite(cur, rows):
    cur.executemany(
        "INSERT INTO sessions (session_id, session_number, environment, kind, workflow_id, workflow_version, status,"
        " vendor_data, session_token, resubmit_json, expires_at, created_at, updated_at, event_sequence)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)


def fill_postgres(url, args, mix):
    psql = os.environ.get("PSQL", "psql")
    total = sum(w for _, w in mix)
    case = " ".join(
        f"WHEN (g % {total}) < {sum(w for _, w in mix[:k + 1])} THEN '{name}'" for k, (name, _) in enumerate(mix))
    sql = f"""
BEGIN;
SELECT value AS start FROM counters WHERE name = 'session_number' FOR UPDATE \\gset
INSERT INTO sessions (session_id, session_number, environment, kind, workflow_id, workflow_version, status,
  vendor_data, session_token, resubmit_json, expires_at, created_at, updated_at, event_sequence)
SELECT md5(random()::text || g)::uuid::text, :start + g + 1, '{args.environment}', 'user', '{args.workflow}', {args.version},
  CASE {case} END, 'bench-' || (:start + g + 1), md5(random()::text || g) || md5(g::text),
  '{{"attempts_used":0,"nodes":[]}}', (extract(epoch from now()) * 1000)::bigint + 604800000,
  (extract(epoch from now()) * 1000)::bigint - ({args.count} - g), (extract(epoch from now()) * 1000)::bigint - ({args.count} - g), 0
FROM generate_series(0, {args.count - 1}) AS g;
UPDATE counters SET value = value + {args.count} WHERE name = 'session_number';
UPDATE session_counts c SET count = c.count + x.n FROM (
  SELECT status, COUNT(*) AS n FROM sessions WHERE session_number > :start AND environment = '{args.environment}' GROUP BY status
) x WHERE c.environment = '{args.environment}' AND c.kind = 'user' AND c.status = x.status;
COMMIT;
ANALYZE sessions;
"""
    subprocess.run([psql, url, "-q", "-v", "ON_ERROR_STOP=1"], input=sql, text=True, check=True, stdout=subprocess.DEVNULL)
    if not args.ids_out:
        return []
    out = subprocess.run(
        [psql, url, "-qAt", "-c",
         f"SELECT session_id FROM sessions WHERE status = 'In Review' AND vendor_data LIKE 'bench-%' ORDER BY session_number DESC LIMIT {args.count}"],
        text=True, check=True, capture_output=True)
    return out.stdout.split()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sqlite")
    parser.add_argument("--postgres")
    parser.add_argument("--workflow", required=True)
    parser.add_argument("--version", type=int, default=1)
    parser.add_argument("--environment", default="live")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--mix", required=True)
    parser.add_argument("--ids-out")
    args = parser.parse_args()
    mix = parse_mix(args.mix)
    ids = fill_sqlite(args.sqlite, args, mix) if args.sqlite else fill_postgres(args.postgres, args, mix)
    if args.ids_out:
        with open(args.ids_out, "w") as f:
            f.write("\n".join(ids) + "\n")


if __name__ == "__main__":
    main()
