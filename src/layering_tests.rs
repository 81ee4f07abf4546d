//! The layer rule of ARCHITECTURE.md, checked against the source: no module
//! names a module of its own or a higher layer.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, lowest first; the same order as ARCHITECTURE.md's table.
/// A module may name modules of lower layers only.
const LAYERS: &[&[&str]] = &[
    &["error"],
    &["topic"],
    &["record"],
    &["storage"],
    &["config"],
    &["remote"],
    &["cluster"],
    &["group"],
    &["producer", "consumer"],
    &["log"],
    &["kafka"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`storage/read.rs` → `storage`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("file under src");
    let first = rel.components().next().expect("non-empty path");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

/// Test code may reach up (a producer test opens a `Log`); only the
/// library's own code must respect the layers.
fn is_test_file(file: &Path) -> bool {
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
    name.is_some_and(|n| n == "tests.rs" || n.ends_with("_tests.rs") || n == "props.rs")
}

/// The library part of a file: everything before its `#[cfg(test)] mod`.
fn library_part(text: &str) -> &str {
    let mut offset = 0;
    let mut previous_was_cfg_test = false;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if previous_was_cfg_test && trimmed.starts_with("mod ") && trimmed.ends_with('{') {
            return &text[..offset];
        }
        previous_was_cfg_test = trimmed == "#[cfg(test)]";
        offset += line.len();
    }
    text
}

/// Names re-exported at the crate root, mapped to the module they come from,
/// so `crate::Log` counts as naming `log`.
fn root_reexports(lib_rs: &str) -> HashMap<String, String> {
    let mut map = HashMap::new();
    let mut rest = lib_rs;
    while let Some(start) = rest.find("pub use ") {
        let after = &rest[start + "pub use ".len()..];
        let end = after.find(';').unwrap_or(after.len());
        let item = &after[..end];
        if let Some((module, names)) = item.split_once("::") {
            let names = names.trim_matches(|c: char| c == '{' || c == '}' || c.is_whitespace());
            for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                map.insert(name.to_string(), module.trim().to_string());
            }
        }
        rest = &after[end..];
    }
    map
}

/// Every top-level module a line of code names through `crate::`.
fn named_modules(line: &str, reexports: &HashMap<String, String>) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let after = &code[at + "crate::".len()..];
        let names: Vec<&str> = if let Some(group) = after.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            group[..end].split(',').collect()
        } else {
            vec![after]
        };
        for name in names {
            let ident: String = name
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if ident.is_empty() {
                continue;
            }
            match reexports.get(&ident) {
                Some(module) => found.push(module.clone()),
                None => found.push(ident),
            }
        }
    }
    found
}

/// Line `n`, joined with the lines after it when it opens a `crate::{`
/// group that closes later (`use crate::{\n    error::Error,\n};`).
fn with_group(lines: &[&str], n: usize) -> String {
    let mut joined = lines[n].split("//").next().unwrap_or("").to_string();
    if joined.contains("crate::{") {
        for next in &lines[n + 1..] {
            if joined.contains('}') {
                break;
            }
            joined.push_str(next.split("//").next().unwrap_or(""));
        }
    }
    joined
}

fn violations(src: &Path) -> Vec<String> {
    let lib_rs = fs::read_to_string(src.join("lib.rs")).expect("read lib.rs");
    let reexports = root_reexports(&lib_rs);
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files.iter().filter(|f| !is_test_file(f)) {
        let module = module_of(src, file);
        let Some(own) = layer_of(&module) else {
            continue;
        };
        let text = fs::read_to_string(file).expect("read source file");
        let lines: Vec<&str> = library_part(&text).lines().collect();
        for (n, line) in lines.iter().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for target in named_modules(&with_group(&lines, n), &reexports) {
                let Some(theirs) = layer_of(&target) else {
                    continue;
                };
                if target != module && theirs >= own {
                    let rel = file.strip_prefix(src).unwrap_or(file);
                    found.push(format!(
                        "{}:{}: {module} names {target}",
                        rel.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    found
}

#[test]
fn no_module_names_its_own_or_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(
        found.is_empty(),
        "imports against the layers:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_top_level_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib_rs = fs::read_to_string(src.join("lib.rs")).expect("read lib.rs");
    for line in lib_rs.lines() {
        if let Some(name) = line.strip_prefix("mod ").and_then(|l| l.strip_suffix(';')) {
            let is_test = name.ends_with("_tests");
            assert!(
                is_test || layer_of(name).is_some(),
                "module {name} is in no layer"
            );
        }
    }
}

#[test]
fn the_checker_sees_an_upward_path() {
    let reexports = root_reexports("pub use log::{Log, LogBuilder};\npub use producer::Producer;");
    assert_eq!(
        named_modules("use crate::producer::Thing;", &reexports),
        ["producer"]
    );
    assert_eq!(
        named_modules("    crate::Log::open_with(b)", &reexports),
        ["log"]
    );
    assert_eq!(
        named_modules("use crate::{error::Error, log::Log};", &reexports),
        ["error", "log"]
    );
    assert!(named_modules("// see crate::log", &reexports).is_empty());
    assert!(named_modules("use super::log;", &reexports).is_empty());
    let lines = ["use crate::{", "    error::Error,", "    log::Log,", "};"];
    assert_eq!(
        named_modules(&with_group(&lines, 0), &reexports),
        ["error", "log"]
    );
}

#[test]
fn the_architecture_table_lists_the_layers_in_this_order() {
    let doc = include_str!("../ARCHITECTURE.md");
    let section = doc.split("## Layers").nth(1).expect("a Layers section");
    let rows: Vec<Vec<String>> = section
        .lines()
        .take_while(|l| !l.starts_with("<!--"))
        .filter(|l| l.starts_with('|') && !l.starts_with("|---") && !l.starts_with("| layer"))
        .map(|row| {
            let modules = row.split('|').nth(2).unwrap_or("");
            modules
                .split('`')
                .skip(1)
                .step_by(2)
                .map(|m| m.trim_end_matches('/').trim_end_matches(".rs").to_string())
                .collect()
        })
        .collect();
    let expected: Vec<Vec<String>> = LAYERS
        .iter()
        .rev()
        .map(|layer| layer.iter().map(|m| m.to_string()).collect())
        .collect();
    assert_eq!(
        rows, expected,
        "ARCHITECTURE.md's layer table and LAYERS disagree"
    );
}
