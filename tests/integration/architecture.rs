//! The house rules of the layout (issue 13), checked on the source itself so that they stay
//! true: the engine's files import each other one way (a reader can start at the leaves),
//! the journal depends on none of the layers above it, and the CLI crate builds no HTTP
//! server (the demo service is a workspace member of its own).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::harness::repo;

/// Module names of the `.rs` files directly in `dir` (without `mod.rs`).
fn modules(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("read src dir")
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter_map(|n| n.strip_suffix(".rs").map(str::to_owned))
        .filter(|n| n != "mod")
        .collect()
}

/// A file's code: without comments (docs may link anywhere) and without its
/// `#[cfg(test)]` tail (tests may import anything).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read source");
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => &text,
    };
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The sibling modules a file names through `super::` or `crate::engine::`, including
/// inside `use super::{a::X, b::Y}` groups.
fn imports(text: &str, siblings: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for prefix in ["super::", "crate::engine::"] {
        for (i, _) in text.match_indices(prefix) {
            let rest = &text[i + prefix.len()..];
            let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                group[..end].split(',').map(|item| item.trim()).collect()
            } else {
                vec![rest]
            };
            for name in names {
                let head: String = name.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if siblings.contains(&head) {
                    found.insert(head);
                }
            }
        }
    }
    found
}

/// A cycle in `graph`, if there is one, as the modules along it.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|n| n == node) {
            let mut found = path[i..].to_vec();
            found.push(node.to_string());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_engines_files_import_each_other_one_way() {
    let dir = repo().join("src/engine");
    let siblings = modules(&dir);
    let graph: BTreeMap<String, BTreeSet<String>> = siblings
        .iter()
        .filter(|m| *m != "tests")
        .map(|m| {
            let mut deps = imports(&code(&dir.join(format!("{m}.rs"))), &siblings);
            deps.remove(m);
            (m.clone(), deps)
        })
        .collect();
    assert!(graph.len() > 10, "the engine's files were found: {graph:?}");
    assert!(graph["driver"].contains("decide"), "imports are seen: {graph:?}");
    assert_eq!(cycle(&graph), None, "{graph:#?}");
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let graph: BTreeMap<String, BTreeSet<String>> =
        [("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["a"]), ("d", vec![])]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into_iter().map(str::to_string).collect()))
            .collect();
    assert_eq!(
        cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}

#[test]
fn the_journal_depends_on_no_layer_above_it() {
    let mut stack = vec![repo().join("src/journal")];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            seen += 1;
            let text = code(&path);
            for layer in [
                "crate::steps",
                "crate::engine",
                "crate::report",
                "crate::commands",
                "crate::cli",
            ] {
                assert!(!text.contains(layer), "{} uses {layer}", path.display());
            }
        }
    }
    assert!(seen > 5);
}

#[test]
fn the_cli_crate_builds_no_http_server() {
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).expect("Cargo.toml");
    let dependencies = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("a [dependencies] table");
    for server in ["axum", "hyper-server", "actix", "warp", "rocket"] {
        assert!(
            !dependencies.lines().any(|l| l.trim_start().starts_with(server)),
            "deployctl depends on {server}"
        );
    }
    assert!(
        manifest.contains("demo/service"),
        "the demo service is a workspace member"
    );
}
