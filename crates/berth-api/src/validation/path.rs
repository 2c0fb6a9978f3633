//! Building field paths as upstream prints them: `spec.containers[0].image`,
//! `metadata.labels[app]`.

/// `parent.name`, or `name` at the root.
pub fn child(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// `parent[i]`: an item of a list.
pub fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// `parent[key]`: an entry of a map.
pub fn key(parent: &str, key: &str) -> String {
    format!("{parent}[{key}]")
}
