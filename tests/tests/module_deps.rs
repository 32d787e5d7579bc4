//! Engine modules depend on each other one way (issue 17): `autograd` uses `tensor`, not
//! back; `device` uses `dtype`, not back. Checked on the source text of each module.

use std::path::Path;

/// The `crate::` paths `file` (under engine/src) names in code, comments stripped.
fn crate_paths(file: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../engine/src")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .flat_map(|l| {
            l.match_indices("crate::")
                .map(move |(i, _)| l[i + 7..].to_string())
        })
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn tensor_does_not_use_autograd() {
    assert!(crate_paths("autograd/mod.rs").contains(&"tensor".to_string()));
    let used = crate_paths("tensor.rs");
    assert!(
        !used.contains(&"autograd".to_string()),
        "tensor.rs uses {used:?}"
    );
}

#[test]
fn dtype_does_not_use_device() {
    assert!(crate_paths("device.rs").contains(&"dtype".to_string()));
    let used = crate_paths("dtype.rs");
    assert!(
        !used.contains(&"device".to_string()),
        "dtype.rs uses {used:?}"
    );
}
