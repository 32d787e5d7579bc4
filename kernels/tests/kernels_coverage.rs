//! Every PTX file the project ships (kernels/ptx) and every test PTX (kernels/tests/ptx) must
//! load on the simulator, and expose each of its `.entry` functions.

mod kernels_util;

use std::path::PathBuf;

fn ptx_files(dir: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ptx"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_ptx_file_loads() {
    let ctx = kernels_util::context();
    let mut failures = Vec::new();
    let files: Vec<PathBuf> = ptx_files("ptx")
        .into_iter()
        .chain(ptx_files("tests/ptx"))
        .collect();
    assert!(
        files.len() >= 5,
        "expected the shipped and test PTX files, found {files:?}"
    );
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let entries = kernels_util::entry_names(&text);
        match ctx.load_module(&text) {
            Err(e) => failures.push(format!("{}: [{}] {e}", path.display(), e.kind())),
            Ok(m) => {
                for name in entries {
                    if let Err(e) = m.function(name) {
                        failures.push(format!("{}: entry {name}: {e}", path.display()));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "the simulator cannot load:\n{}",
        failures.join("\n")
    );
}
