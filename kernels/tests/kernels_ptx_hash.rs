//! CPU-only checks of the committed PTX (no CUDA tools needed):
//! - each `.ptx` records the SHA-256 of its CUDA source (plus the headers it includes) on its
//!   first line, as written by `scripts/build_ptx.py`; a source edited without regenerating the
//!   PTX fails here;
//! - every `.cu` has its `.ptx` and vice versa;
//! - every entry name exposed by `kernels::ptx` is an `.entry` of its module's PTX.

use std::fs;
use std::path::{Path, PathBuf};

/// SHA-256 (FIPS 180-4), enough for hashing a few source files.
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in chunk.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (i, x) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
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
fn sha256_known_answers() {
    assert_eq!(
        hex(&sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        hex(&sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex(&sha256(
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        )),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
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
        let entries: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split(".entry ").nth(1))
            .map(|rest| {
                rest.split(|c: char| c == '(' || c.is_whitespace())
                    .next()
                    .unwrap()
            })
            .collect();
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
