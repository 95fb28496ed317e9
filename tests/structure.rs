//! The house rules of `docs/architecture.md` that a machine can check: no import cycle among the
//! files of `src/` (read from their `crate::`, `super::` and `self::` paths, the way
//! `../shared/tools/cycles.py` reads them; a parent `mod.rs` and its own children do not count);
//! no file over 600 lines of code (its unit tests not counted) without a `//! Size:` reason at
//! its top; SQL only in `src/store/`; `src/http` never names `crate::store`, and no store row carries
//! an API schema (the API answers with the views of `src/service/views/`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, by its path relative to `src/`, with its text.
fn sources(src: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, src: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("read src") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, src, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src).expect("under src");
                let rel = rel.to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read_to_string(&path).expect("read file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, src, &mut out);
    out
}

/// The text without comments, and without a trailing `#[cfg(test)] mod …` (tests may import
/// anything).
fn code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    let mut in_str = false;
    while i < b.len() {
        if in_str {
            if b[i] == b'\\' {
                i += 2;
                continue;
            }
            if b[i] == b'"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        if b[i] == b'"' && (i == 0 || b[i - 1] != b'\'') {
            in_str = true;
            i += 1;
            continue;
        }
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if b[i..].starts_with(b"/*") {
            match text[i + 2..].find("*/") {
                Some(end) => i += end + 4,
                None => break,
            }
            continue;
        }
        out.push(b[i] as char);
        i += 1;
    }
    let cut = out
        .match_indices("#[cfg(test)]")
        .find(|(at, _)| out[at + 12..].trim_start().starts_with("mod "))
        .map(|(at, _)| at);
    match cut {
        Some(at) => out[..at].to_string(),
        None => out,
    }
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The module path of a file: `service/cutting/mod.rs` is `service::cutting`.
fn module_of(rel: &str) -> Vec<String> {
    let mut segs: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if segs.last().is_some_and(|s| s == "mod") {
        segs.pop();
    }
    if segs == ["lib"] || segs == ["main"] {
        segs.clear();
    }
    segs
}

/// The paths a file names: each `crate::a::b`, `super::x`, `self::y`, with a `::{…}` group
/// expanded one level.
fn paths(text: &str, module: &[String]) -> Vec<Vec<String>> {
    let code = code(text);
    let mut out = Vec::new();
    for head in ["crate", "super", "self"] {
        let mut from = 0;
        while let Some(found) = code[from..].find(head) {
            let at = from + found;
            from = at + head.len();
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| is_ident(c) || c == ':') || !code[from..].starts_with("::") {
                continue;
            }
            let mut segs = Vec::new();
            let mut rest = &code[from..];
            while let Some(after) = rest.strip_prefix("::") {
                let len = after.find(|c: char| !is_ident(c)).unwrap_or(after.len());
                if len == 0 {
                    break;
                }
                segs.push(after[..len].to_string());
                rest = &after[len..];
            }
            let mut base: Vec<String> = match head {
                "crate" => Vec::new(),
                "self" => module.to_vec(),
                _ => {
                    let mut up = 1;
                    while segs.first().is_some_and(|s| s == "super") {
                        segs.remove(0);
                        up += 1;
                    }
                    module[..module.len().saturating_sub(up)].to_vec()
                }
            };
            base.extend(segs);
            match rest.strip_prefix("::{") {
                Some(group) => {
                    let group = &group[..group.find('}').unwrap_or(group.len())];
                    for item in group.split(',') {
                        let item = item.split(" as ").next().unwrap_or("").trim();
                        let sub: Vec<String> = item
                            .split("::")
                            .map(str::trim)
                            .filter(|s| !s.is_empty() && *s != "self" && s.chars().all(is_ident))
                            .map(String::from)
                            .collect();
                        let mut p = base.clone();
                        p.extend(sub);
                        out.push(p);
                    }
                }
                None => out.push(base),
            }
        }
    }
    out
}

/// The longest prefix of `segs` that names a file: `a/b.rs` or `a/b/mod.rs`.
fn resolve(files: &BTreeMap<String, String>, segs: &[String]) -> Option<String> {
    (1..=segs.len()).rev().find_map(|k| {
        let base = segs[..k].join("/");
        [format!("{base}.rs"), format!("{base}/mod.rs")]
            .into_iter()
            .find(|c| files.contains_key(c))
    })
}

/// A parent module and its own children, or the crate root and anything.
fn family(a: &str, b: &str) -> bool {
    [(a, b), (b, a)].iter().any(|(x, y)| {
        let root = *x == "lib.rs" || *x == "main.rs";
        let parent = x
            .strip_suffix("mod.rs")
            .is_some_and(|dir| y.starts_with(dir));
        root || parent
    })
}

/// The import graph of `src/`: file -> files it names.
fn graph(files: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    files
        .iter()
        .map(|(rel, text)| {
            let module = module_of(rel);
            let targets = paths(text, &module)
                .iter()
                .filter_map(|p| resolve(files, p))
                .filter(|t| t != rel && !family(rel, t))
                .collect();
            (rel.clone(), targets)
        })
        .collect()
}

/// Strongly connected components with more than one file (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on.insert(v);
            for w in &self.edges[v] {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.on.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on.remove(w);
                    comp.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    comp.sort();
                    self.out.push(comp);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.out
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_import_cycle_among_the_files_of_src() {
    let files = sources(&src_dir());
    assert!(files.len() > 50, "src/ was read ({} files)", files.len());
    let found = cycles(&graph(&files));
    let listed: Vec<String> = found.iter().map(|c| c.join(" <-> ")).collect();
    assert!(
        found.is_empty(),
        "import cycles among src/ files (break each by moving the shared type to the layer \
         that owns it):\n{}",
        listed.join("\n")
    );
}

/// The checker itself finds a cycle, ignores comments and tests, and lets a parent use its
/// children.
#[test]
fn the_cycle_check_sees_what_it_should() {
    let mut files = BTreeMap::new();
    files.insert(
        "lib.rs".to_string(),
        "pub mod a; pub mod b; pub mod c;".to_string(),
    );
    files.insert("a.rs".to_string(), "use crate::b::Thing;".to_string());
    files.insert(
        "b.rs".to_string(),
        "// use crate::a;\nfn f() { crate::c::{x, y}; }".to_string(),
    );
    files.insert(
        "c/mod.rs".to_string(),
        "mod d; use self::d::X;\n#[cfg(test)]\nmod tests { use crate::a; }".to_string(),
    );
    files.insert("c/d.rs".to_string(), "use super::super::a::Y;".to_string());
    let edges = graph(&files);
    assert_eq!(
        edges["c/mod.rs"],
        BTreeSet::new(),
        "children and tests do not count"
    );
    assert_eq!(edges["b.rs"], BTreeSet::from(["c/mod.rs".to_string()]));
    assert_eq!(edges["c/d.rs"], BTreeSet::from(["a.rs".to_string()]));
    assert!(cycles(&edges).is_empty(), "a -> b -> c, d -> a: no cycle");
    files.insert(
        "c/d.rs".to_string(),
        "use crate::a::Y; use crate::b;".to_string(),
    );
    files.insert(
        "a.rs".to_string(),
        "use crate::b::Thing; use crate::c::d::Z;".to_string(),
    );
    let found = cycles(&graph(&files));
    assert_eq!(found, vec![vec!["a.rs".to_string(), "c/d.rs".to_string()]]);
}

/// The lines of a file before its unit tests (`#[cfg(test)]` at the start of a line).
fn code_lines(text: &str) -> usize {
    text.lines()
        .take_while(|l| !l.starts_with("#[cfg(test)]"))
        .count()
}

/// Whether the file's opening comment states why it is long.
fn states_its_size(text: &str) -> bool {
    text.lines()
        .take_while(|l| l.starts_with("//!"))
        .any(|l| l.starts_with("//! Size:"))
}

#[test]
fn no_file_in_src_is_over_600_lines_without_a_stated_reason() {
    let files = sources(&src_dir());
    let long: Vec<String> = files
        .iter()
        .filter(|(_, text)| code_lines(text) > 600 && !states_its_size(text))
        .map(|(rel, text)| format!("src/{rel}: {} lines", code_lines(text)))
        .collect();
    assert!(
        long.is_empty(),
        "split these files by concern, or say at their top why not (`//! Size: …`): {long:#?}"
    );
    // The check reads what it should.
    assert_eq!(code_lines("a\nb\n#[cfg(test)]\nmod tests {}\n"), 2);
    assert!(states_its_size(
        "//! A file.\n//!\n//! Size: long because.\nuse x;"
    ));
    assert!(!states_its_size("//! A file.\nuse x;\n//! Size: too late"));
}

#[test]
fn sql_is_written_only_in_the_store() {
    let files = sources(&src_dir());
    let outside: Vec<&String> = files
        .iter()
        .filter(|(rel, text)| {
            !rel.starts_with("store/")
                && ["sqlx::query", "query_as(", "rusqlite::"]
                    .iter()
                    .any(|needle| code(text).contains(needle))
        })
        .map(|(rel, _)| rel)
        .collect();
    assert!(outside.is_empty(), "SQL outside src/store/: {outside:?}");
    // The check reads what it should: the store's own queries are seen.
    assert!(files
        .iter()
        .any(|(rel, text)| rel.starts_with("store/") && code(text).contains("sqlx::query")));
}

#[test]
fn no_file_in_src_http_names_the_store() {
    let files = sources(&src_dir());
    let mut found = Vec::new();
    for (rel, text) in files.iter().filter(|(rel, _)| rel.starts_with("http/")) {
        let module = module_of(rel);
        if paths(text, &module)
            .iter()
            .any(|p| p.first().is_some_and(|s| s == "store"))
        {
            found.push(rel.clone());
        }
    }
    assert!(
        found.is_empty(),
        "these files of src/http use crate::store (go through a service, answer with a view): {found:?}"
    );
    // The check reads what it should: services name the store.
    let service = files
        .get("service/printing/mod.rs")
        .expect("a service file");
    assert!(paths(service, &module_of("service/printing/mod.rs"))
        .iter()
        .any(|p| p.first().is_some_and(|s| s == "store")));
}

#[test]
fn no_store_row_carries_an_api_schema() {
    // The API's bodies are the views of `src/service/views/`; a row with a schema could be sent
    // as it is, and a storage change would then change the API without a diff anywhere.
    let files = sources(&src_dir());
    let with_schema: Vec<&String> = files
        .iter()
        .filter(|(rel, text)| rel.starts_with("store/") && code(text).contains("ToSchema"))
        .map(|(rel, _)| rel)
        .collect();
    assert!(
        with_schema.is_empty(),
        "store files deriving ToSchema: {with_schema:?}"
    );
    assert!(files
        .iter()
        .any(|(rel, text)| rel.starts_with("service/views/") && code(text).contains("ToSchema")));
}
