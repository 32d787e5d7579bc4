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

/// `user` names `used` and `used` does not name `user` back.
fn assert_one_way(user: (&str, &str), used: (&str, &str)) {
    assert!(crate_paths(user.1).contains(&used.0.to_string()));
    let back = crate_paths(used.1);
    assert!(
        !back.contains(&user.0.to_string()),
        "{} uses {back:?}",
        used.1
    );
}

#[test]
fn autograd_uses_tensor_one_way() {
    assert_one_way(("autograd", "autograd/mod.rs"), ("tensor", "tensor.rs"));
}

#[test]
fn device_uses_dtype_one_way() {
    assert_one_way(("device", "device.rs"), ("dtype", "dtype.rs"));
}
