//! CPU-only checks of the committed PTX (no CUDA tools needed):
//! - each `.ptx` records the SHA-256 of its CUDA source (plus the headers it includes) on its
//!   first line, as written by `scripts/build_ptx.py`; a source edited without regenerating the
//!   PTX fails here;
//! - every `.cu` has its `.ptx` and vice versa;
//! - every entry name exposed by `kernels::ptx` is an `.entry` of its module's PTX.

mod kernels_util;

use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn kernels_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The hash build_ptx.py records: the source, then each `#include "NAME"` header (looked up next
/// to the source, then in kernels/cuda/) in the order of the include lines.
fn source_hash(cu: &Path) -> String {
    let src = fs::read(cu).unwrap();
    let mut data = src.clone();
    for line in String::from_utf8(src).unwrap().lines() {
        let t = line.trim_start();
        let Some(rest) = t.strip_prefix('#') else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix("include") else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix('"') else {
            continue;
        };
        let name = &rest[..rest.find('"').expect("unterminated include")];
        let candidates = [
            cu.parent().unwrap().join(name),
            kernels_dir().join("cuda").join(name),
        ];
        let header = candidates
            .iter()
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{}: include \"{name}\" not found", cu.display()));
        data.extend(fs::read(header).unwrap());
    }
    hex(&sha256(&data))
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

#[test]
fn committed_ptx_matches_source_hash() {
    let pairs = [("cuda", "ptx"), ("tests/cuda", "tests/ptx")];
    let mut checked = 0;
    let mut errors = Vec::new();
    for (src_dir, ptx_dir) in pairs {
        let src_dir = kernels_dir().join(src_dir);
        let ptx_dir = kernels_dir().join(ptx_dir);
        for cu in files(&src_dir, "cu") {
            let ptx = ptx_dir.join(cu.with_extension("ptx").file_name().unwrap());
            let Ok(text) = fs::read_to_string(&ptx) else {
                errors.push(format!("{}: no {}", cu.display(), ptx.display()));
                continue;
            };
            let first = text.lines().next().unwrap_or("");
            let want = format!("// source-sha256: {}", source_hash(&cu));
            if first != want {
                errors.push(format!(
                    "{} is stale: first line {first:?}, source hash line {want:?}; \
                     run kernels/scripts/build_ptx.py",
                    ptx.display()
                ));
            }
            checked += 1;
        }
        for ptx in files(&ptx_dir, "ptx") {
            let cu = src_dir.join(ptx.with_extension("cu").file_name().unwrap());
            if !cu.exists() {
                errors.push(format!("{} has no source {}", ptx.display(), cu.display()));
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(checked >= 3, "found only {checked} sources");
}

#[test]
fn every_exposed_entry_is_in_its_ptx() {
    use kernels::ptx::{ptx, Module};
    for m in Module::ALL {
        let text = ptx(m);
        let on_disk =
            fs::read_to_string(kernels_dir().join("ptx").join(format!("{}.ptx", m.stem())))
                .unwrap();
        assert_eq!(
            text,
            on_disk,
            "{m:?}: embedded PTX differs from ptx/{}.ptx",
            m.stem()
        );
        let entries = kernels_util::entry_names(text);
        for name in m.entries() {
            assert!(
                entries.contains(name),
                "{m:?}: no `.entry {name}` in ptx/{}.ptx",
                m.stem()
            );
        }
        for e in &entries {
            assert!(
                m.entries().contains(e),
                "{m:?}: .entry {e} is not exposed by kernels::ptx"
            );
        }
    }
    // Every shipped .ptx file is a Module.
    let stems: Vec<String> = files(&kernels_dir().join("ptx"), "ptx")
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let known: Vec<&str> = Module::ALL.iter().map(|m| m.stem()).collect();
    for s in &stems {
        assert!(
            known.contains(&s.as_str()),
            "ptx/{s}.ptx is not a kernels::ptx::Module"
        );
    }
}
