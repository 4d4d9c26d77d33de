"""Schema migrations for the sandbox, the way many tools run them: the files in
STATE/migrations (NNNN_name.sql with `-- up` and `-- down` sections), applied one
statement at a time and recorded in schema_migrations (finished_at NULL while running or
after a failure: a "dirty", half-applied migration). The app refuses to call itself
healthy while a migration is half applied, as Prisma refuses to migrate further."""
import hashlib
import os
import re
import shutil

from sb_db import TABLES, now_iso

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")


class MigrationError(Exception):
    pass


def install(sb):
    """Copies the shipped migration files into the state folder (the deployed code)."""
    dst = sb.path("migrations")
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(dst)
    for f in sorted(os.listdir(SOURCE)):
        if f.endswith(".sql"):
            shutil.copy(os.path.join(SOURCE, f), dst)


def parse(path):
    with open(path) as f:
        text = f.read()
    m = re.match(r"(\d{4})_([a-z0-9_]+)\.sql$", os.path.basename(path))
    if not m:
        raise MigrationError(f"{path}: a migration file is named NNNN_name.sql")
    sections, cur = {"up": [], "down": None}, None
    buf = []
    for line in text.splitlines():
        s = line.strip()
        if s in ("-- up", "-- down"):
            if cur:
                sections[cur] = split_statements(buf)
            cur, buf = s[3:], []
            continue
        if cur and not s.startswith("--"):
            buf.append(line)
    if cur:
        sections[cur] = split_statements(buf)
    return {"version": m.group(1), "name": f"{m.group(1)}_{m.group(2)}", "file": path, "up": sections["up"],
            "down": sections["down"], "checksum": hashlib.sha256(text.encode()).hexdigest()[:16]}


def split_statements(lines):
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def files(sb):
    d = sb.path("migrations")
    if not os.path.isdir(d):
        return {}
    return {p["version"]: p for p in (parse(os.path.join(d, f)) for f in sorted(os.listdir(d)) if f.endswith(".sql"))}


def rows(db):
    if "schema_migrations" not in db.tables():
        return []
    cols = ("version", "name", "checksum", "started_at", "finished_at", "statements_done", "error")
    return [dict(zip(cols, r)) for r in db.q(f"SELECT {', '.join(cols)} FROM schema_migrations ORDER BY version")]


def schema_state(db):
    """'ok', or a sentence naming the half-applied migration."""
    for r in rows(db):
        if r["finished_at"] is None:
            return f"migration {r['name']} is half applied ({r['statements_done']} statement(s) ran; {r['error']})"
    return "ok"


def status(sb, db):
    applied = rows(db)
    dirty = [r for r in applied if r["finished_at"] is None]
    known = {r["version"] for r in applied}
    pending = [p["name"] for v, p in sorted(files(sb).items()) if v not in known]
    d = dirty[0] if dirty else None
    out = {"applied": [r["name"] for r in applied if r["finished_at"]], "pending": pending, "dirty": d,
           "dirty_name": d["name"] if d else None}
    if d:
        f = files(sb).get(d["version"])
        out["dirty_statements"] = len(f["up"]) if f else None
        out["dirty_has_down"] = bool(f and f["down"])
    return out


def up(sb, db, version=None, file=None):
    """Applies one migration (the first pending one, VERSION, or FILE copied into the
    deployed migrations first), one statement at a time."""
    if file:
        shutil.copy(file, sb.path("migrations", os.path.basename(file)))
        version = parse(file)["version"]
    fs = files(sb)
    done = {r["version"] for r in rows(db)}
    if version is None:
        pending = [v for v in sorted(fs) if v not in done]
        if not pending:
            return {"applied": None}
        version = pending[0]
    if version in done:
        raise MigrationError(f"migration {version} is already recorded in schema_migrations")
    m = fs.get(version)
    if not m:
        raise MigrationError(f"no migration {version} in {sb.path('migrations')}")
    db.q("INSERT INTO schema_migrations VALUES (?,?,?,?,?,?,?)", (version, m["name"], m["checksum"], now_iso(), None, 0, None))
    for i, stmt in enumerate(m["up"]):
        try:
            db.q(stmt)
        except Exception as e:  # noqa: BLE001
            err = f"statement {i + 1} of {len(m['up'])} failed: {str(e).strip().splitlines()[0]}"
            db.q("UPDATE schema_migrations SET statements_done = ?, error = ? WHERE version = ?", (i, err, version))
            raise MigrationError(f"migration {m['name']}: {err}")
        db.q("UPDATE schema_migrations SET statements_done = ? WHERE version = ?", (i + 1, version))
    db.q("UPDATE schema_migrations SET finished_at = ? WHERE version = ?", (now_iso(), version))
    return {"applied": m["name"], "statements": len(m["up"])}


def down(sb, db, version):
    """Rolls one migration back through its `-- down` section and forgets it."""
    m = files(sb).get(version)
    if not m:
        raise MigrationError(f"no migration {version} in {sb.path('migrations')}")
    if not m["down"]:
        raise MigrationError(f"migration {m['name']} has no down section: it cannot be rolled back "
                             "(restore the backup taken before it)")
    for i, stmt in enumerate(m["down"]):
        try:
            db.q(stmt)
        except Exception as e:  # noqa: BLE001
            raise MigrationError(f"migration {m['name']}: down statement {i + 1} failed: {str(e).strip()}")
    db.q("DELETE FROM schema_migrations WHERE version = ?", (version,))
    return {"rolled_back": m["name"], "statements": len(m["down"])}


def validate(sb, db):
    """The schema the app expects: the base tables with their columns, plus the tables of
    finished migrations; nothing half applied and no table nobody expects."""
    problems = []
    have = db.tables()
    fs = files(sb)
    expected = set(TABLES)
    for r in rows(db):
        f = fs.get(r["version"])
        if r["finished_at"] is None:
            problems.append(f"migration {r['name']} is half applied")
        elif f:
            expected |= set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", " ".join(f["up"]), re.I))
    for t in sorted(TABLES):
        if t not in have:
            problems.append(f"table {t} is missing")
            continue
        cols = set(db.columns(t))
        lost = [c for c, _ in TABLES[t] if c not in cols]
        if lost:
            problems.append(f"table {t} lost column(s) {', '.join(lost)}")
    for t in sorted(have - expected):
        if not t.endswith("_backup"):
            problems.append(f"table {t} belongs to no finished migration")
    return problems
