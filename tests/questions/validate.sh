#!/usr/bin/env bash
# Checks the question suites in this folder against the demo databases.
#
# Starts a throwaway PostgreSQL 15 cluster (Unix socket only, in a fresh directory under /tmp),
# loads sql/demo/retail.sql and sql/demo/billing.sql, then for every *.toml here:
#   - checks the format (known keys and kinds, langs, unique ids across all files, refuse cases with
#     a reason and no SQL, follow-ups with `before` ...),
#   - runs each case's ground-truth SQL as the file's role with TimeZone UTC, and fails when a query
#     errors or returns no rows (listing the ids),
#   - prints a table of case counts by kind x lang.
# The cluster is stopped and its directory removed on exit, whatever happens.
#
# Usage: tests/questions/validate.sh [--show ID|PREFIX*|all]...
#   --show prints the result (first 20 rows) of the matching cases, to eyeball them.
# Environment: PGBIN (default /usr/lib/postgresql/15/bin), QUARRY_QUESTIONS_PORT (default 55439).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PORT=${QUARRY_QUESTIONS_PORT:-55439}

SHOW=()
while [ $# -gt 0 ]; do
    case "$1" in
        --show) [ $# -ge 2 ] || { echo "--show needs an argument" >&2; exit 2; }; SHOW+=("$2"); shift 2 ;;
        -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

for bin in initdb pg_ctl; do
    [ -x "$PGBIN/$bin" ] || { echo "validate.sh: $PGBIN/$bin not found (set PGBIN)" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "validate.sh: python3 is needed" >&2; exit 2; }

# PostgreSQL refuses to run as root: run the server and psql as the postgres OS user then.
if [ "$(id -u)" = 0 ]; then
    AS=(runuser -u postgres --)
else
    AS=()
fi

WORK=$(mktemp -d /tmp/quarry-questions.XXXXXX)
chmod 755 "$WORK"
if [ "$(id -u)" = 0 ]; then chown postgres: "$WORK"; fi
DATA="$WORK/data"

cleanup() {
    if [ -f "$DATA/postmaster.pid" ]; then
        "${AS[@]}" "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== starting a throwaway cluster in $WORK"
"${AS[@]}" "$PGBIN/initdb" -D "$DATA" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >"$WORK/initdb.log" 2>&1 \
    || { cat "$WORK/initdb.log" >&2; exit 1; }
"${AS[@]}" "$PGBIN/pg_ctl" -D "$DATA" -l "$WORK/server.log" -w \
    -o "-k $WORK -c listen_addresses='' -p $PORT -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c timezone=UTC" \
    start >/dev/null || { cat "$WORK/server.log" >&2; exit 1; }

PSQL=("${AS[@]}" "$PGBIN/psql" -h "$WORK" -p "$PORT" -U postgres -X -q -v ON_ERROR_STOP=1)
"${PSQL[@]}" -d postgres -c 'CREATE DATABASE questions' >/dev/null

for demo in retail billing; do
    echo "== loading sql/demo/$demo.sql"
    start=$(date +%s)
    # The file is read by this shell (it may not be readable by the postgres user).
    "${PSQL[@]}" -d questions -f - <"$ROOT/sql/demo/$demo.sql" >/dev/null
    echo "   loaded in $(( $(date +%s) - start )) s"
done

echo "== checking the question suites"
export QV_PSQL=$(printf '%s\0' "${PSQL[@]}" -d questions | base64 -w0)
python3 - "$HERE" "${SHOW[@]}" <<'PY'
import base64, csv, fnmatch, io, os, re, subprocess, sys, tomllib

here, show = sys.argv[1], sys.argv[2:]
psql = [a for a in base64.b64decode(os.environ["QV_PSQL"]).decode().split("\0") if a]

KINDS = ["count", "aggregate", "glossary-measure", "group-by", "filter", "time-range", "time-grain", "top-n",
         "share", "percentage", "distinct-count", "per-entity", "period-over-period", "ranking-within-groups",
         "follow-up", "refuse"]
LANGS = ["en", "zh-CN", "ko-KR"]
TOP_KEYS = {"dataset", "role", "case"}
CASE_KEYS = {"id", "kind", "lang", "ask", "sql", "ordered", "before", "refuse", "why"}

problems = []   # (id or file, message): make the run fail
warnings = []
seen_ids = {}
files = sorted(f for f in os.listdir(here) if f.endswith(".toml"))
if not files:
    sys.exit("no *.toml question files in " + here)


def run(role, sql):
    """Runs sql as role; returns (header, rows) or raises RuntimeError with psql's message."""
    body = sql.strip().rstrip(";").strip()
    script = ("SET TimeZone = 'UTC';\nSET statement_timeout = '60s';\nSET ROLE " + role + ";\n"
              + body + ";\n")
    p = subprocess.run(psql + ["--csv", "-f", "-"], input=script, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError((p.stderr or p.stdout).strip())
    rows = list(csv.reader(io.StringIO(p.stdout)))
    if not rows:
        raise RuntimeError("no result set (is the last statement a query?)")
    header = rows[0]
    # A lone NULL comes out as an empty line, which csv reads as [].
    return header, [r + [""] * (len(header) - len(r)) for r in rows[1:]]


def table(header, rows, limit=20):
    shown = rows[:limit]
    widths = [max([len(h)] + [len(r[i]) for r in shown]) for i, h in enumerate(header)]
    out = ["  " + " | ".join(h.ljust(w) for h, w in zip(header, widths)),
           "  " + "-+-".join("-" * w for w in widths)]
    out += ["  " + " | ".join(v.ljust(w) for v, w in zip(r, widths)) for r in shown]
    if len(rows) > limit:
        out.append(f"  ... {len(rows) - limit} more rows")
    out.append(f"  ({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


counts = {}
for name in files:
    path = os.path.join(here, name)
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        problems.append((name, f"TOML: {e}"))
        continue
    for key in set(doc) - TOP_KEYS:
        problems.append((name, f"unknown top-level key {key!r}"))
    role, dataset, cases = doc.get("role"), doc.get("dataset"), doc.get("case", [])
    if not isinstance(dataset, str) or not dataset:
        problems.append((name, "missing dataset"))
    if not isinstance(role, str) or not role.replace("_", "").isalnum():
        problems.append((name, "missing or odd role"))
        continue
    if not cases:
        problems.append((name, "no [[case]]"))
    grid = counts.setdefault(name, {})
    ran = failed = 0
    print(f"-- {name}: {len(cases)} cases, dataset {dataset!r}, role {role}")
    for i, c in enumerate(cases):
        cid = c.get("id")
        if not isinstance(cid, str) or not cid:
            problems.append((f"{name}#{i + 1}", "missing id"))
            cid = f"{name}#{i + 1}"
        elif cid in seen_ids:
            problems.append((cid, f"duplicate id (also in {seen_ids[cid]})"))
        else:
            seen_ids[cid] = name
        for key in set(c) - CASE_KEYS:
            problems.append((cid, f"unknown key {key!r}"))
        kind, lang = c.get("kind"), c.get("lang")
        if kind not in KINDS:
            problems.append((cid, f"unknown kind {kind!r}"))
        if lang not in LANGS:
            problems.append((cid, f"unknown lang {lang!r}"))
        grid.setdefault(kind, {}).setdefault(lang, 0)
        grid[kind][lang] += 1
        if not isinstance(c.get("ask"), str) or not c["ask"].strip():
            problems.append((cid, "missing ask"))
        if "ordered" in c and not isinstance(c["ordered"], bool):
            problems.append((cid, "ordered must be true or false"))
        before = c.get("before")
        if kind == "follow-up":
            if not isinstance(before, list) or not before or not all(isinstance(b, str) and b.strip() for b in before):
                problems.append((cid, "a follow-up needs before = [\"...\"]"))
        elif before is not None:
            problems.append((cid, "only follow-up cases have before"))
        if kind == "refuse":
            if c.get("refuse") is not True:
                problems.append((cid, "a refuse case needs refuse = true"))
            if not isinstance(c.get("why"), str) or not c["why"].strip():
                problems.append((cid, "a refuse case needs why"))
            if "sql" in c:
                problems.append((cid, "a refuse case has no sql"))
            continue
        if "refuse" in c or "why" in c:
            problems.append((cid, "refuse and why are only for refuse cases"))
        sql = c.get("sql")
        if not isinstance(sql, str) or not sql.strip():
            problems.append((cid, "missing sql"))
            continue
        if c.get("ordered") and "order by" not in sql.lower():
            warnings.append((cid, "ordered = true but the SQL has no ORDER BY"))
        ran += 1
        try:
            header, rows = run(role, sql)
        except RuntimeError as e:
            failed += 1
            problems.append((cid, "query failed: " + str(e).replace("\n", " | ")))
            continue
        if not rows:
            failed += 1
            problems.append((cid, "query returned no rows"))
        elif len(rows) == 1 and all(v.strip() in ("", "0", "0.00") for v in rows[0]):
            warnings.append((cid, "the only row is all zero or null: " + ", ".join(f"{h}={v!r}" for h, v in zip(header, rows[0]))))
        # A top-N whose cut falls on a tie has no single right answer: look one row further.
        m = re.search(r"\blimit\s+(\d+)\s*;?\s*$", sql, re.IGNORECASE)
        if c.get("ordered") and m and len(rows) == int(m.group(1)):
            try:
                _, more = run(role, sql[:m.start()] + f"LIMIT {int(m.group(1)) + 1}")
                if len(more) > len(rows) and more[-1][-1] == more[-2][-1]:
                    warnings.append((cid, f"tie at the top-{len(rows)} cut: {more[-2]} and {more[-1]}"))
            except RuntimeError:
                pass
        if len(set(header)) != len(header):
            warnings.append((cid, "duplicate column names: " + ", ".join(header)))
        if any(fnmatch.fnmatchcase(cid, pat) or pat == "all" for pat in show):
            print(f"\n[{cid}] ({kind}, {lang}{', ordered' if c.get('ordered') else ''}) "
                  + " / ".join(list(before or []) + [c["ask"]]))
            print(table(header, rows))
    print(f"   ran {ran} queries, {failed} failed")

for name, grid in counts.items():
    langs = [l for l in LANGS if any(l in v for v in grid.values())]
    print(f"\n== {name}: cases by kind x lang")
    print(f"  {'kind':<22}" + "".join(f"{l:>7}" for l in langs) + f"{'total':>7}")
    for kind in KINDS + sorted(k for k in grid if k not in KINDS and k is not None):
        if kind not in grid:
            print(f"  {kind:<22}" + "".join(f"{0:>7}" for _ in langs) + f"{0:>7}")
            continue
        row = grid[kind]
        print(f"  {kind:<22}" + "".join(f"{row.get(l, 0):>7}" for l in langs) + f"{sum(row.values()):>7}")
    print(f"  {'total':<22}" + "".join(f"{sum(r.get(l, 0) for r in grid.values()):>7}" for l in langs)
          + f"{sum(sum(r.values()) for r in grid.values()):>7}")

if warnings:
    print("\n== warnings")
    for cid, msg in warnings:
        print(f"  {cid}: {msg}")
if problems:
    print(f"\n== FAILED: {len(problems)} problem(s)", file=sys.stderr)
    for cid, msg in problems:
        print(f"  {cid}: {msg}", file=sys.stderr)
    sys.exit(1)
print(f"\n== OK: {len(seen_ids)} cases in {len(files)} files")
PY
