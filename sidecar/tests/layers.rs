//! The sidecar's layers only look down, and its parts import one another in no circle:
//!
//!   leaves (config, urls, telemetry, session, error, form, metrics, the crate root): usable by anyone
//!   db             the typed client of the extension (bottom)
//!   mcp::pipeline  the question pipeline (domain)
//!   mcp, oauth, pages, health, sqlbot   the edges
//!   state, server  the top
//!
//! Read from the source: every `use` declaration (groups expanded, `super::` and `self::`
//! resolved) and every `crate::…`/`super::…` path written inline, outside comments and string
//! literals, attributed to the file it is in. A path names the longest module it starts with; a
//! module belongs to the part its path starts with (`mcp::pipeline` before `mcp`). The check fails
//! on an import of a higher layer, on a cycle between parts, and on a part no layer was given.
//!
//! A second check: only `db` (and `config`, which parses `DATABASE_URL` with tokio-postgres's own
//! parser) names the PostgreSQL client crates, so nothing else can write SQL or touch a pool.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Parts and their layers, lowest first. A part is a module path prefix ("" is the crate root).
const LAYERS: &[(&str, u8)] = &[
    ("", 0),
    ("config", 0),
    ("urls", 0),
    ("telemetry", 0),
    ("session", 0),
    ("error", 0),
    ("form", 0),
    ("metrics", 0),
    ("pg_tls", 0),
    ("https", 0),
    ("serve", 0),
    ("db", 1),
    ("mcp::pipeline", 2),
    ("mcp", 3),
    ("oauth", 3),
    ("pages", 3),
    ("health", 3),
    ("sqlbot", 3),
    ("state", 4),
    ("server", 4),
];

const LAYER_NAMES: [&str; 5] = ["leaf", "db", "domain", "edge", "top"];

/// Parts that may name tokio_postgres or deadpool_postgres.
const POSTGRES_CLIENTS: &[&str] = &["db", "config", "pg_tls"];

struct Module {
    path: String,
    file: PathBuf,
    code: String,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every module file of the library (main.rs is the binary, which uses the library from outside).
fn modules() -> Vec<Module> {
    let mut files = Vec::new();
    walk(&src(), &mut files);
    files.sort();
    files
        .into_iter()
        .filter(|f| f.file_name().is_some_and(|n| n != "main.rs"))
        .map(|file| {
            let relative = file.strip_prefix(src()).unwrap().with_extension("");
            let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            let code = strip(&std::fs::read_to_string(&file).unwrap());
            Module { path: parts.join("::"), file, code }
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without comments, string literals and character literals (each replaced by a
/// space), so that only code is read.
fn strip(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
            out.push(' ');
        } else if c == 'r' && (next == Some('#') || next == Some('"')) && starts_word(&chars, i) {
            // A raw string: r"…", r#"…"#, br#"…"#, …
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            i = j;
            out.push(' ');
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push(' ');
        } else if c == '\'' && (chars.get(i + 2) == Some(&'\'') || next == Some('\\')) {
            // A character literal ('x' or '\n'); anything else after ' is a lifetime.
            i += 1;
            if chars[i] == '\\' {
                i += 1;
            }
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push(' ');
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Whether the `r` at `i` begins a raw string's prefix (`r` or `br`), not the end of a word.
fn starts_word(chars: &[char], i: usize) -> bool {
    let ident = |k: usize| chars.get(k).is_some_and(|p| p.is_alphanumeric() || *p == '_');
    if i == 0 {
        return true;
    }
    if chars[i - 1] == 'b' {
        return i == 1 || !ident(i - 2);
    }
    !ident(i - 1)
}

/// The module paths a file refers to, with the line of each reference.
fn references(module: &Module) -> Vec<(String, usize)> {
    let code = &module.code;
    let mut found = Vec::new();
    let mut inline_modules: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if inline_modules.last().is_some_and(|(_, d)| *d == depth) {
                    inline_modules.pop();
                }
            }
            _ => {}
        }
        let at_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':');
        let here = || {
            let mut path = module.path.clone();
            for (name, _) in &inline_modules {
                path = join(&path, name);
            }
            path
        };
        let line = || code[..i].matches('\n').count() + 1;
        if at_word && code[i..].starts_with("mod ") {
            // An inline module (`mod tests { … }`): `super` inside it is the file's module.
            let rest = &code[i + 4..];
            let name: String = rest.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let after = rest.trim_start()[name.len()..].trim_start();
            if after.starts_with('{') {
                inline_modules.push((name, depth));
            }
        } else if at_word && code[i..].starts_with("use ") {
            let end = code[i..].find(';').map(|e| i + e).unwrap_or(code.len());
            for path in expand(code[i + 4..end].trim()) {
                if let Some(target) = resolve(&here(), &path) {
                    found.push((target, line()));
                }
            }
            i = end;
            continue;
        } else if at_word && (code[i..].starts_with("crate::") || code[i..].starts_with("super::")) {
            let path: String = code[i..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            let path: Vec<String> = path.split("::").filter(|s| !s.is_empty()).map(str::to_string).collect();
            if let Some(target) = resolve(&here(), &path) {
                found.push((target, line()));
            }
            i += path.iter().map(|p| p.len() + 2).sum::<usize>();
            continue;
        }
        i += 1;
    }
    found
}

fn join(base: &str, name: &str) -> String {
    if base.is_empty() { name.to_string() } else { format!("{base}::{name}") }
}

/// The paths of a use tree: `crate::a::{b, c::{d, e as f}}` → crate::a::b, crate::a::c::d, crate::a::c::e.
fn expand(tree: &str) -> Vec<Vec<String>> {
    let tree: String = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = Vec::new();
    expand_into(&[], &tree, &mut out);
    out
}

fn expand_into(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head: Vec<String> = tree[..open].split("::").map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let prefix: Vec<String> = prefix.iter().cloned().chain(head).collect();
        for item in split_top(inner) {
            expand_into(&prefix, item, out);
        }
    } else {
        let tree = tree.split(" as ").next().unwrap_or(tree);
        let mut path: Vec<String> = prefix.to_vec();
        path.extend(tree.split("::").map(str::trim).filter(|s| !s.is_empty() && *s != "*" && *s != "self").map(str::to_string));
        if !path.is_empty() {
            out.push(path);
        }
    }
}

/// Splits a group's items at its top-level commas.
fn split_top(group: &str) -> Vec<&str> {
    let (mut items, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&group[start..]);
    items.into_iter().filter(|s| !s.trim().is_empty()).collect()
}

/// The absolute path of a path written in module `here` (None for other crates').
fn resolve(here: &str, path: &[String]) -> Option<String> {
    let mut base: Vec<&str> = match path.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("super" | "self") => here.split("::").filter(|s| !s.is_empty()).collect(),
        _ => return None,
    };
    let mut rest = path;
    if rest[0] == "crate" {
        rest = &rest[1..];
    }
    while let Some(first) = rest.first() {
        match first.as_str() {
            "super" => {
                base.pop();
            }
            "self" => {}
            _ => break,
        }
        rest = &rest[1..];
    }
    let mut full: Vec<String> = base.iter().map(|s| s.to_string()).collect();
    full.extend(rest.iter().cloned());
    Some(full.join("::"))
}

/// The longest module a path starts with.
fn module_of(path: &str, known: &BTreeSet<String>) -> String {
    let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    (0..=segments.len()).rev().map(|n| segments[..n].join("::")).find(|p| known.contains(p)).unwrap_or_default()
}

/// The part a module belongs to: the longest entry of LAYERS its path starts with.
fn part_of(module: &str) -> Option<(&'static str, u8)> {
    LAYERS
        .iter()
        .filter(|(prefix, _)| module == *prefix || (!prefix.is_empty() && module.starts_with(&format!("{prefix}::"))))
        .max_by_key(|(prefix, _)| prefix.len())
        .copied()
        .or_else(|| module.is_empty().then_some(("", 0)))
}

fn name(part: &str) -> &str {
    if part.is_empty() { "crate root" } else { part }
}

#[test]
fn layers_only_look_down_and_parts_form_no_circle() {
    let modules = modules();
    let known: BTreeSet<String> = modules.iter().map(|m| m.path.clone()).collect();
    let mut problems = Vec::new();
    // part → parts it imports, each with one place that does
    let mut graph: BTreeMap<&str, BTreeMap<&str, String>> = BTreeMap::new();
    for m in &modules {
        let Some((from, from_layer)) = part_of(&m.path) else {
            problems.push(format!("{} ({}): no layer was given to this module's part", m.path, m.file.display()));
            continue;
        };
        graph.entry(from).or_default();
        for (path, line) in references(m) {
            let target = module_of(&path, &known);
            let Some((to, to_layer)) = part_of(&target) else {
                problems.push(format!("{}:{line}: {path} is in a part with no layer", m.file.display()));
                continue;
            };
            if to == from {
                continue;
            }
            let place = format!("{}:{line} ({path})", m.file.strip_prefix(src()).unwrap().display());
            if to_layer > from_layer {
                problems.push(format!(
                    "upward import: {place}: {} ({}) uses {} ({})",
                    name(from),
                    LAYER_NAMES[from_layer as usize],
                    name(to),
                    LAYER_NAMES[to_layer as usize]
                ));
            }
            graph.entry(from).or_default().entry(to).or_insert(place);
        }
    }
    problems.extend(cycles(&graph));

    println!("part (layer) -> the parts it imports");
    for (part, uses) in &graph {
        let layer = part_of(part).map(|(_, l)| LAYER_NAMES[l as usize]).unwrap_or("?");
        let names: Vec<&str> = uses.keys().map(|p| name(p)).collect();
        println!("  {} ({layer}) -> {}", name(part), if names.is_empty() { "-".to_string() } else { names.join(", ") });
    }
    println!("{} modules, {} parts, {} problems", modules.len(), graph.len(), problems.len());
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

/// Every cycle between parts, once each.
fn cycles(graph: &BTreeMap<&str, BTreeMap<&str, String>>) -> Vec<String> {
    let mut found = BTreeSet::new();
    for start in graph.keys() {
        let mut stack = vec![(*start, vec![*start])];
        while let Some((at, trail)) = stack.pop() {
            for next in graph.get(at).map(|m| m.keys().copied().collect::<Vec<_>>()).unwrap_or_default() {
                if next == *start {
                    // Report each cycle from its smallest part, so it is found once.
                    if trail.iter().all(|p| p >= start) {
                        let places: Vec<String> =
                            trail.iter().zip(trail.iter().skip(1).chain(std::iter::once(start))).map(|(a, b)| graph[a][b].clone()).collect();
                        let names: Vec<&str> = trail.iter().map(|p| name(p)).collect();
                        found.insert(format!("import circle: {} -> {}: {}", names.join(" -> "), name(start), places.join("; ")));
                    }
                } else if !trail.contains(&next) {
                    let mut longer = trail.clone();
                    longer.push(next);
                    stack.push((next, longer));
                }
            }
        }
    }
    found.into_iter().collect()
}

#[test]
fn only_db_talks_to_postgresql() {
    let mut problems = Vec::new();
    for m in modules() {
        let (part, _) = part_of(&m.path).unwrap_or(("?", 0));
        if POSTGRES_CLIENTS.contains(&part) {
            continue;
        }
        for (n, line) in m.code.lines().enumerate() {
            if line.contains("tokio_postgres") || line.contains("deadpool_postgres") {
                problems.push(format!("{}:{}: {}", m.file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(problems.is_empty(), "only db/ may use the PostgreSQL client:\n{}", problems.join("\n"));
}

#[test]
fn the_reader_finds_what_it_should() {
    let paths = expand("crate::a::{b, c::{d, e as f}, self}");
    let joined: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(joined, ["crate::a::b", "crate::a::c::d", "crate::a::c::e", "crate::a"]);
    assert_eq!(resolve("mcp::pipeline::providers::openai", &["super".into(), "Model".into()]).as_deref(), Some("mcp::pipeline::providers::Model"));
    assert_eq!(resolve("mcp::tools::types", &["super".into(), "super".into(), "identity".into()]).as_deref(), Some("mcp::identity"));
    assert_eq!(resolve("db", &["axum".into(), "Router".into()]), None);
    let stripped = strip("let s = \"crate::server\"; // crate::state\nlet c = '\"'; let r = r#\"crate::x\"#; crate::db::Db");
    assert!(!stripped.contains("server") && !stripped.contains("state") && !stripped.contains("crate::x"), "{stripped}");
    assert!(stripped.contains("crate::db::Db"));
    assert_eq!(part_of("mcp::pipeline::render"), Some(("mcp::pipeline", 2)));
    assert_eq!(part_of("mcp::tools"), Some(("mcp", 3)));
    assert_eq!(part_of("nothing"), None);
    // An upward import and a circle are caught.
    let module = Module { path: "db::x".into(), file: "db/x.rs".into(), code: strip("use crate::state::AppState;\nfn f() { crate::mcp::pipeline::run(); }") };
    let refs: Vec<String> = references(&module).into_iter().map(|(p, _)| p).collect();
    assert_eq!(refs, ["state::AppState", "mcp::pipeline::run"]);
    let mut graph: BTreeMap<&str, BTreeMap<&str, String>> = BTreeMap::new();
    graph.entry("a").or_default().insert("b", "a.rs".into());
    graph.entry("b").or_default().insert("a", "b.rs".into());
    assert_eq!(cycles(&graph).len(), 1);
}
