#!/usr/bin/env python3
"""Writes the extension's upgrade script from one released version to the current one.

    upgrade_script.py --from 0.1.0 --to 0.2.0 --old OLD.sql --new NEW.sql --pre PRE.sql \
                      [--post POST.sql] --lib extension/src/lib.rs --out OUT.sql

OLD.sql is the released install script of the old version, NEW.sql the install script pgrx generates
for the current sources. The upgrade script is, in this order:

  1. PRE.sql, hand-written: what cannot be derived, i.e. tables (new columns with their backfill,
     new tables, changed constraints and indexes) and data;
  2. DROP of every routine of the old version that the new one no longer has with the same
     signature (name, arguments with their names, modes and defaults, result): CREATE OR REPLACE
     cannot change those;
  3. every routine, view and trigger of the new install script as CREATE OR REPLACE, with the
     comments, grants and DO blocks around them, in its order (from schema.sql, the tables' file,
     only routines, views and triggers);
  4. POST.sql if given (hand-written, for steps that need the new functions);
  5. quarry._regrant_services(), so that the sidecar's roles get the new service API.

Table definitions and data statements of the new install script are not replayed (they would fail or
duplicate rows): the ones that are new or changed since the old version are listed in a comment at
the end of the output, for whoever reviews PRE.sql. A DO block outside schema.sql runs again at
every upgrade, so it must be idempotent (privileges.sql's is). Anything else the script does not know how to
replay safely stops it with an error. The output depends only on the inputs (no timestamps), so that
regenerating after an unrelated change gives no diff.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field

# --------------------------------------------------------------------------------------------------
# A lexer that knows enough SQL to split statements: comments (nested block comments too), quoted
# strings (E'' with backslash escapes), quoted identifiers and dollar-quoted bodies.


@dataclass
class Token:
    kind: str  # word, ident (quoted identifier), string, dollar, number, op
    text: str
    start: int
    end: int


_WORD = re.compile(r"[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*")
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


class SqlError(Exception):
    pass


def tokenize(s: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c.isspace():
            i += 1
        elif s.startswith("--", i):
            j = s.find("\n", i)
            i = n if j < 0 else j + 1
        elif s.startswith("/*", i):
            depth, j = 1, i + 2
            while depth:
                if j >= n:
                    raise SqlError(f"unterminated comment at offset {i}")
                if s.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif s.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            i = j
        elif c == "'" or (c in "eE" and s.startswith("'", i + 1)):
            escapes = c != "'"
            j = i + (2 if escapes else 1)
            while True:
                if j >= n:
                    raise SqlError(f"unterminated string at offset {i}")
                if escapes and s[j] == "\\":
                    j += 2
                elif s[j] == "'":
                    if s.startswith("''", j):
                        j += 2
                    else:
                        j += 1
                        break
                else:
                    j += 1
            tokens.append(Token("string", s[i:j], i, j))
            i = j
        elif c == '"':
            j = i + 1
            while True:
                j = s.find('"', j)
                if j < 0:
                    raise SqlError(f"unterminated identifier at offset {i}")
                if s.startswith('""', j):
                    j += 2
                else:
                    j += 1
                    break
            tokens.append(Token("ident", s[i:j], i, j))
            i = j
        elif c == "$" and (m := _DOLLAR.match(s, i)):
            tag = m.group(0)
            j = s.find(tag, m.end())
            if j < 0:
                raise SqlError(f"unterminated {tag} body at offset {i}")
            j += len(tag)
            tokens.append(Token("dollar", s[i:j], i, j))
            i = j
        elif m := _WORD.match(s, i):
            tokens.append(Token("word", m.group(0), i, m.end()))
            i = m.end()
        elif m := _NUMBER.match(s, i):
            tokens.append(Token("number", m.group(0), i, m.end()))
            i = m.end()
        elif s.startswith("::", i):
            tokens.append(Token("op", "::", i, i + 2))
            i += 2
        else:
            tokens.append(Token("op", c, i, i + 1))
            i += 1
    return tokens


def normalized(tokens: list[Token]) -> list[str]:
    """Tokens as PostgreSQL reads them: keywords and unquoted names folded to lower case, quotes
    dropped from identifiers that do not need them; comments and layout are already gone."""
    out = []
    for t in tokens:
        if t.kind == "word":
            out.append(t.text.lower())
        elif t.kind == "ident" and re.fullmatch(r'"[a-z_][a-z0-9_$]*"', t.text):
            out.append(t.text[1:-1])
        else:
            out.append(t.text)
    return out


def compact(tokens: list[Token]) -> str:
    """The tokens' text on one line: a single space wherever the source had space or comments."""
    parts = []
    for k, t in enumerate(tokens):
        if k and t.start > tokens[k - 1].end:
            parts.append(" ")
        parts.append(t.text)
    return "".join(parts)


# --------------------------------------------------------------------------------------------------
# Install scripts as pgrx writes them: blocks between "connected objects" markers, each starting
# with comment lines that say where it comes from.


@dataclass
class Statement:
    lead: str  # comments and blank lines before it
    text: str  # from its first token to its semicolon
    tokens: list[Token]
    kind: str  # e.g. "CREATE FUNCTION", "COMMENT ON", "DO", "CREATE TABLE"

    def key(self) -> tuple:
        return tuple(normalized(self.tokens))


@dataclass
class Block:
    location: str  # where pgrx says it comes from: "extension/src/lib.rs:39"
    role: str  # "bootstrap", "finalize" or ""
    item: str | None  # the Rust item it was generated from, for routines written in Rust
    requires: list[str]  # as pgrx lists them: names of SQL blocks, paths of Rust items
    statements: list[Statement] = field(default_factory=list)
    origin: str = ""  # for people: the SQL file, or the Rust item


_BEGIN = "/* <begin connected objects> */"
_END = "/* </end connected objects> */"


def statement_kind(words: list[str]) -> str:
    """The statement's kind by its first words: "CREATE FUNCTION" (also for CREATE OR REPLACE),
    "CREATE INDEX" (also UNIQUE), "CREATE CONSTRAINT TRIGGER", "COMMENT ON", "ALTER TABLE", "DO"…"""
    w = [x.upper() for x in words[:6]]
    if w[:1] == ["CREATE"]:
        rest = w[1:]
        if rest[:2] == ["OR", "REPLACE"]:
            rest = rest[2:]
        while rest[:1] and rest[0] in ("UNIQUE", "TEMP", "TEMPORARY", "UNLOGGED", "TRUSTED", "PROCEDURAL"):
            rest = rest[1:]
        if rest[:1] in (["CONSTRAINT"], ["MATERIALIZED"]):
            return "CREATE " + " ".join(rest[:2])
        return "CREATE " + (rest[0] if rest else "")
    if w[:2] == ["COMMENT", "ON"]:
        return "COMMENT ON"
    if w[:1] == ["ALTER"]:
        return " ".join(w[:2])
    return w[0] if w else ""


def parse_statements(text: str, origin: str) -> list[Statement]:
    tokens = tokenize(text)
    statements, current, prev_end = [], [], 0
    for t in tokens:
        current.append(t)
        if t.kind == "op" and t.text == ";":
            words = [x.text for x in current if x.kind == "word"][:6]
            first = current[0]
            statements.append(
                Statement(
                    lead=text[prev_end : first.start],
                    text=text[first.start : t.end],
                    tokens=current,
                    kind=statement_kind(words),
                )
            )
            prev_end, current = t.end, []
    if current:
        raise SqlError(f"{origin}: text after the last statement has no semicolon: {text[current[0].start:][:80]!r}")
    return statements


def parse_install_script(text: str) -> list[Block]:
    blocks: list[Block] = []
    lines = text.split("\n")
    k = 0
    while k < len(lines):
        if lines[k].strip() != _BEGIN:
            k += 1
            continue
        end = k + 1
        while end < len(lines) and lines[end].strip() != _END:
            end += 1
        if end == len(lines):
            raise SqlError(f"block opened at line {k + 1} is never closed")
        body = lines[k + 1 : end]
        k = end + 1
        # pgrx's own comment lines: where the block comes from, then its role (bootstrap, finalize)
        # or the Rust item it was generated from, and what it requires.
        if not (body and re.fullmatch(r"-- \S+:\d+", body[0])):
            if parse_statements("\n".join(body), "?"):
                raise SqlError(f"a block before line {k} does not say where it comes from")
            continue  # pgrx's note at the top of the file
        location, role, item, requires = body.pop(0)[3:], "", None, []
        while body:
            line = body[0]
            if line in ("-- bootstrap", "-- finalize"):
                role = line[3:]
            elif re.fullmatch(r"-- [A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)+", line) and item is None:
                item = line[3:]
            elif line.startswith("--   "):
                requires.append(line.strip("- "))
            elif line == "-- requires:" or line.startswith("-- Skipped"):
                pass
            else:
                break
            body.pop(0)
        origin = f"{item} ({location.split(':')[0]})" if item else location
        blocks.append(Block(location, role, item, requires, parse_statements("\n".join(body), origin), origin))
    if not blocks:
        raise SqlError("no pgrx blocks found: is this an install script generated by cargo pgrx?")
    return blocks


@dataclass
class SqlMacro:
    line: int
    path: str | None  # extension_sql_file!'s file; None for extension_sql!
    name: str | None
    requires: list[str]


def sql_macros(lib_rs: str) -> dict[int, SqlMacro]:
    """The extension_sql_file! and extension_sql! calls of lib.rs, by the line they start on."""
    found = {}
    for m in re.finditer(r"extension_sql(_file)?!\(", lib_rs):
        line = lib_rs.count("\n", 0, m.start()) + 1
        depth, j = 1, m.end()
        while depth and j < len(lib_rs):  # to the closing parenthesis (SQL text may hold others)
            if lib_rs[j] == '"':
                j = lib_rs.index('"', j + 1)
            depth += {"(": 1, ")": -1}.get(lib_rs[j], 0)
            j += 1
        call = lib_rs[m.end() : j]
        path = re.match(r'\s*"([^"]+)"', call) if m.group(1) else None
        name = re.search(r'\bname\s*=\s*"([^"]+)"', call)
        requires = re.search(r"\brequires\s*=\s*\[(.*?)\]", call, re.S)
        found[line] = SqlMacro(
            line,
            path.group(1) if path else None,
            name.group(1) if name else None,
            [r.strip().strip('"') for r in requires.group(1).split(",") if r.strip()] if requires else [],
        )
    return found


def install_order(blocks: list[Block], lib_rs_path: str, lib_rs: str) -> list[Block]:
    """The blocks in an order that does not change from one run to the next (pgrx's does): the
    tables' file, then the routines written in Rust by name, then the SQL files in the order lib.rs
    declares them, which must satisfy what each requires; the finalize file last."""
    macros = sql_macros(lib_rs)
    rust, sql = [], []
    for b in blocks:
        if b.item:
            rust.append(b)
            continue
        path, _, line = b.location.rpartition(":")
        macro = macros.get(int(line)) if path == lib_rs_path else None
        if macro is None:
            raise SqlError(f"block from {b.location}: not an extension_sql! or extension_sql_file! of {lib_rs_path}; teach this script where it goes")
        b.origin = "extension/sql/" + macro.path.rsplit("/", 1)[-1] if macro.path else f"extension_sql! {macro.name} ({lib_rs_path})"
        sql.append((macro, b))
    rank = {"bootstrap": 0, "": 1, "finalize": 2}
    sql.sort(key=lambda mb: (rank[mb[1].role], mb[0].line))
    seen: set[str] = set()
    for macro, b in sql:
        for required in macro.requires:
            if "::" not in required and required not in seen:  # Rust items all come first
                raise SqlError(f"{lib_rs_path}:{macro.line} ({macro.name}) requires {required}, declared after it: declare files in the order they install")
        if macro.name:
            seen.add(macro.name)
    bootstrap = {m.name for m, b in sql if b.role == "bootstrap"}
    for b in rust:
        for required in b.requires:
            if "::" not in required and required not in bootstrap:
                raise SqlError(f"{b.origin} requires {required}: Rust routines are replayed before the SQL files; teach this script")
    rust.sort(key=lambda b: b.item)
    ordered = [b for m, b in sql if b.role == "bootstrap"] + rust + [b for m, b in sql if b.role != "bootstrap"]
    return [b for b in ordered if b.statements]


# --------------------------------------------------------------------------------------------------
# Routines: their signature, as far as CREATE OR REPLACE is concerned.

_ROUTINE_OPTIONS = {
    "language", "transform", "window", "immutable", "stable", "volatile", "not", "leakproof", "called",
    "returns", "strict", "external", "security", "parallel", "cost", "rows", "support", "set", "as",
    "begin", "return",
}


def is_op(t: Token, text: str) -> bool:
    return t.kind == "op" and t.text == text


def split_top_level(tokens: list[Token]) -> list[list[Token]]:
    """Splits at the commas outside parentheses and brackets."""
    parts: list[list[Token]] = [[]]
    depth = 0
    for t in tokens:
        if t.kind == "op" and t.text in "([":
            depth += 1
        elif t.kind == "op" and t.text in ")]":
            depth -= 1
        if depth == 0 and is_op(t, ","):
            parts.append([])
        else:
            parts[-1].append(t)
    return [p for p in parts if p]


# Type names PostgreSQL reads as others: a routine declared with either has the same signature.
_TYPE_ALIASES = {
    "int": ("integer",), "int4": ("integer",), "int8": ("bigint",), "int2": ("smallint",),
    "bool": ("boolean",), "float4": ("real",), "float8": ("double", "precision"), "decimal": ("numeric",),
    "varchar": ("character", "varying"), "timestamptz": ("timestamp", "with", "time", "zone"),
    "timetz": ("time", "with", "time", "zone"),
}


def type_names(words: list[str]) -> tuple:
    return tuple(w for word in words for w in _TYPE_ALIASES.get(word, (word,)))


@dataclass
class Routine:
    kind: str  # FUNCTION or PROCEDURE
    name: str  # without its schema, as PostgreSQL stores it
    arguments: list[list[Token]]
    # All that CREATE OR REPLACE cannot change: kind, name, arguments (with their modes, names and
    # defaults) and result.
    signature: tuple

    def drop(self, schema: str) -> str:
        arguments = []
        for argument in self.arguments:
            # DROP takes the arguments' modes, names and types, but not their defaults.
            cut = next((i for i, t in enumerate(argument) if (t.kind == "word" and t.text.lower() == "default") or is_op(t, "=")), len(argument))
            arguments.append(compact(argument[:cut]))
        name = self.name if re.fullmatch(r"[a-z_][a-z0-9_$]*", self.name) else '"' + self.name.replace('"', '""') + '"'
        return f"DROP {self.kind} {schema}.{name}({', '.join(arguments)});"


def routine(statement: Statement) -> Routine | None:
    """The routine a CREATE FUNCTION or CREATE PROCEDURE statement defines; None for others."""
    if statement.kind not in ("CREATE FUNCTION", "CREATE PROCEDURE"):
        return None
    tokens = statement.tokens
    kind = statement.kind.split()[1]
    i = next(k for k, t in enumerate(tokens) if t.kind == "word" and t.text.upper() == kind) + 1
    opening = next(k for k in range(i, len(tokens)) if is_op(tokens[k], "("))
    name = normalized([tokens[opening - 1]])[0]
    if name.startswith('"'):
        name = name[1:-1].replace('""', '"')
    depth, closing = 0, opening
    while True:
        depth += is_op(tokens[closing], "(") - is_op(tokens[closing], ")")
        if depth == 0:
            break
        closing += 1
    arguments = split_top_level(tokens[opening + 1 : closing])
    result: list[Token] = []
    k = closing + 1
    if kind == "FUNCTION" and tokens[k].kind == "word" and tokens[k].text.lower() == "returns":
        k, depth = k + 1, 0
        while not is_op(tokens[k], ";") and not (depth == 0 and tokens[k].kind == "word" and tokens[k].text.lower() in _ROUTINE_OPTIONS):
            depth += is_op(tokens[k], "(") - is_op(tokens[k], ")")
            result.append(tokens[k])
            k += 1
    signature = (kind, name, tuple(type_names(normalized(a)) for a in arguments), type_names(normalized(result)))
    return Routine(kind, name, arguments, signature)


# --------------------------------------------------------------------------------------------------
# What to do with each statement of the new install script.

# Replayed as they are: they may run again on a database that already has what they make. (A DO
# block outside schema.sql therefore runs at every upgrade and must be idempotent.)
_REPLAYED = {"COMMENT ON", "GRANT", "REVOKE", "ALTER FUNCTION", "ALTER PROCEDURE", "ALTER ROUTINE", "DO"}
# Replayed as CREATE OR REPLACE.
_REPLACED = {"CREATE FUNCTION", "CREATE PROCEDURE", "CREATE VIEW", "CREATE TRIGGER"}
# Tables and data: the hand-written part's job.
_TABLES_AND_DATA = {
    "CREATE TABLE", "CREATE INDEX", "CREATE SEQUENCE", "CREATE TYPE", "CREATE DOMAIN", "CREATE POLICY",
    "ALTER TABLE", "ALTER SEQUENCE", "ALTER TYPE", "ALTER INDEX", "ALTER POLICY",
    "INSERT", "UPDATE", "DELETE", "SELECT",
}


# PostgreSQL records whatever an extension script grants or revokes as the extension's initial
# privileges, and pg_dump leaves those out of a dump, expecting CREATE EXTENSION to make them. The
# grants to service roles (made by grant_service, outside any script, in a fresh install) are not
# the extension's: left in that record, a dump of an upgraded database would restore without them.
SERVICE_INIT_PRIVS = """
-- What the service roles hold is theirs, not the extension's: keep it out of the extension's
-- initial privileges (where every GRANT and REVOKE above put it), so that pg_dump dumps it, as it
-- does for a fresh install.
UPDATE pg_catalog.pg_init_privs p
   SET initprivs = ARRAY(SELECT u.a FROM unnest(p.initprivs) WITH ORDINALITY AS u(a, n)
                          WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.aclexplode(ARRAY[u.a]) e
                                             WHERE e.grantee IN (SELECT r.oid FROM pg_catalog.pg_roles r
                                                                   JOIN {schema}.service_roles s ON s.role_name = r.rolname))
                          ORDER BY u.n)
 WHERE p.privtype = 'e'
   AND EXISTS (SELECT 1 FROM pg_catalog.aclexplode(p.initprivs) e
                WHERE e.grantee IN (SELECT r.oid FROM pg_catalog.pg_roles r JOIN {schema}.service_roles s ON s.role_name = r.rolname));
"""


def or_replace(statement: Statement) -> str:
    """CREATE … as CREATE OR REPLACE … (pgrx writes "CREATE  FUNCTION", with two spaces)."""
    words = [t for t in statement.tokens if t.kind == "word"]
    if words[1].text.upper() == "OR":
        return statement.text
    cut = words[0].end - statement.tokens[0].start
    return statement.text[:cut] + " OR REPLACE " + statement.text[cut:].lstrip(" ")


def rule(title: str) -> str:
    return f"\n-- {title} " + "-" * max(3, 96 - len(title)) + "\n"


def generate(args: argparse.Namespace) -> str:
    def read(path: str) -> str:
        with open(path, encoding="utf-8") as f:
            return f.read()

    old_blocks = parse_install_script(read(args.old))
    new_blocks = install_order(parse_install_script(read(args.new)), args.lib, read(args.lib))
    pre = read(args.pre).strip("\n")
    post = read(args.post).strip("\n") if args.post else None
    old_statements = [s for b in old_blocks for s in b.statements]
    new_statements = [s for b in new_blocks for s in b.statements]
    old_keys = {s.key() for s in old_statements}
    new_keys = {s.key() for s in new_statements}
    problems = []

    # A view or trigger that changes or goes would need a DROP this script does not write yet.
    for s in old_statements:
        if s.kind in ("CREATE VIEW", "CREATE TRIGGER") and s.key() not in new_keys:
            problems.append(f"{args.from_version}'s {s.kind} is changed or gone; this script cannot drop it yet: {s.text[:100]!r}")

    new_signatures = {r.signature for s in new_statements if (r := routine(s))}
    drops: list[str] = []
    for s in old_statements:
        r = routine(s)
        if r and r.signature not in new_signatures and r.drop(args.schema) not in drops:
            drops.append(r.drop(args.schema))

    replayed, skipped = [], []
    for block in new_blocks:
        emitted = []
        for s in block.statements:
            if block.role == "bootstrap" and s.kind not in _REPLACED:
                # The tables' file is the hand-written part's business, but for routines it may hold.
                if s.key() not in old_keys:
                    skipped.append((block.origin, s))
            elif s.kind in _REPLACED:
                emitted.append(s.lead + or_replace(s))
            elif s.kind in _REPLAYED:
                emitted.append(s.lead + s.text)
            elif s.kind in _TABLES_AND_DATA:
                if s.key() not in old_keys:
                    skipped.append((block.origin, s))
            else:
                problems.append(f"{block.origin}: cannot replay {s.kind or 'this statement'} in an upgrade: {s.text[:100]!r}")
        if emitted:
            replayed.append(rule(f"From {block.origin}") + "".join(emitted).strip("\n") + "\n")
    if problems:
        raise SqlError("\n".join(problems))

    out = [
        f"-- Upgrades the quarry extension from {args.from_version} to {args.to_version}, keeping every row.\n",
        "--\n",
        "-- GENERATED by scripts/upgrade-script.sh: do not edit. Edit extension/sql/*.sql, or the hand-written\n",
        f"-- {args.pre}" + (f" and {args.post}" if post is not None else "") + ", then run the script again.\n",
        "\n",
        f"\\echo Use \"ALTER EXTENSION quarry UPDATE TO '{args.to_version}'\" to load this file. \\quit\n",
        rule(f"1. Tables and data, by hand ({args.pre})"),
        pre + "\n",
        rule(f"2. Routines of {args.from_version} whose arguments or result {args.to_version} changes, or that it removes"),
        "-- CREATE OR REPLACE cannot change a routine's argument names, defaults or result.\n",
        "".join(d + "\n" for d in drops) or "-- (none)\n",
        rule(f"3. Every routine, view, trigger, comment and grant of {args.to_version}, in install order"),
        *replayed,
    ]
    if post is not None:
        out += [rule(f"4. By hand, once the routines exist ({args.post})"), post + "\n"]
    out += [
        rule("5. Service roles"),
        "-- Roles given the service API (grant_service) get what this version adds or redefined.\n",
        f"SELECT {args.schema}._regrant_services();\n",
        SERVICE_INIT_PRIVS.format(schema=args.schema),
    ]
    if skipped:
        out.append(rule(f"Not replayed: table and data statements of {args.to_version} that are new or changed since {args.from_version}"))
        out.append(f"-- {args.pre} must leave an upgraded database as these leave a fresh one:\n")
        for origin, s in skipped:
            first = compact(s.tokens)
            out.append(f"--   {origin}: {first[:100]}{' …' if len(first) > 100 else ''}\n")
    return "".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--from", dest="from_version", required=True)
    p.add_argument("--to", dest="to_version", required=True)
    p.add_argument("--old", required=True, help="the released install script of the old version")
    p.add_argument("--new", required=True, help="the install script cargo pgrx generates now")
    p.add_argument("--pre", required=True, help="hand-written: tables and data (path as it should be named in the output)")
    p.add_argument("--post", help="hand-written, run once the new routines exist")
    p.add_argument("--lib", required=True, help="extension/src/lib.rs, to name the SQL file each block comes from")
    p.add_argument("--schema", default="quarry")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    try:
        text = generate(args)
    except SqlError as e:
        print(f"upgrade_script.py: {e}", file=sys.stderr)
        return 1
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
