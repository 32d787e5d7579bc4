//! End-to-end tests of the `ptxsim` binary: a shipped kernel on .npy input, checked output file;
//! bad arguments and checker findings exit non-zero with one clear line.

use kernels::npy::{self, Array};
use std::path::PathBuf;
use std::process::{Command, Output};

fn ptxsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ptxsim"))
        .args(args)
        .output()
        .expect("run ptxsim")
}

fn manifest(p: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(p)
        .to_string_lossy()
        .into_owned()
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ptxsim-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn sum_rows_from_npy_to_npy() {
    let dir = tmpdir("sum_rows");
    let (rows, cols) = (3usize, 37usize);
    let x: Vec<f32> = (0..rows * cols).map(|i| (i as f32 * 0.37).sin()).collect();
    let input = dir.join("x.npy");
    let output = dir.join("out.npy");
    npy::write(&input, &Array::from_f32(&[rows, cols], &x)).unwrap();
    let o = ptxsim(&[
        &manifest("ptx/reduce.ptx"),
        "--kernel",
        "sum_rows_f32",
        "--grid",
        "2",
        "--block",
        "48",
        "--arg",
        &format!("npy:{}", input.display()),
        "--arg",
        &format!("nan:f32:{rows}"),
        "--arg",
        &format!("u32:{rows}"),
        "--arg",
        &format!("u32:{cols}"),
        "--out",
        &format!("1={}", output.display()),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "ptxsim failed: {stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    println!("{stdout}");
    let got = npy::read(&output).unwrap();
    assert_eq!(got.shape, vec![rows]);
    let got = got.to_f32().unwrap();
    for r in 0..rows {
        let want: f64 = x[r * cols..(r + 1) * cols].iter().map(|&v| v as f64).sum();
        assert!(
            (got[r] as f64 - want).abs() < 1e-4,
            "row {r}: got {}, want {want}",
            got[r]
        );
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn list_kernels() {
    let o = ptxsim(&[&manifest("ptx/philox.ptx"), "--list"]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    for name in [
        "philox_u32",
        "philox_uniform_f32",
        "dropout_fwd_f32",
        "dropout_bwd_f32",
    ] {
        assert!(out.contains(name), "--list output lacks {name}: {out}");
    }
}

/// Exit status non-zero, no panic, exactly one line on stderr that contains `want`.
fn assert_one_line_error(o: &Output, want: &str) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "expected failure, stderr: {stderr}");
    assert_ne!(o.status.code(), Some(101), "ptxsim panicked: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "expected one line, got: {stderr}"
    );
    assert!(stderr.starts_with("ptxsim: error: "), "{stderr}");
    assert!(
        stderr.contains(want),
        "stderr {stderr:?} should mention {want:?}"
    );
}

#[test]
fn bad_arguments_fail_with_one_line() {
    let ptx = manifest("ptx/reduce.ptx");
    let base = ["--kernel", "sum_f32", "--grid", "1", "--block", "32"];
    let run = |extra: &[&str]| {
        let mut v: Vec<&str> = vec![&ptx];
        v.extend_from_slice(&base);
        v.extend_from_slice(extra);
        ptxsim(&v)
    };
    assert_one_line_error(&run(&["--arg", "q32:7"]), "unknown type");
    assert_one_line_error(&run(&["--arg", "u32:seven"]), "bad value");
    assert_one_line_error(&run(&["--arg", "nan:i32:4"]), "float dtype");
    assert_one_line_error(&run(&["--arg", "npy:/nonexistent/x.npy"]), "cannot read");
    assert_one_line_error(&run(&["--arg", "u32:1", "--out", "0=/tmp/x.npy"]), "scalar");
    assert_one_line_error(&run(&["--grid", "0"]), "positive");
    assert_one_line_error(&run(&["--frobnicate"]), "unknown option");
    assert_one_line_error(
        &ptxsim(&[
            &ptx,
            "--kernel",
            "no_such_kernel",
            "--grid",
            "1",
            "--block",
            "1",
        ]),
        "no_such_kernel",
    );
    assert_one_line_error(&ptxsim(&["/nonexistent.ptx", "--list"]), "cannot read");
}

#[test]
fn checker_finding_fails_with_one_line() {
    // oob_write_bad writes y[n]: one element past a buffer of n floats.
    let o = ptxsim(&[
        &manifest("tests/ptx/planted_bugs.ptx"),
        "--kernel",
        "oob_write_bad",
        "--grid",
        "1",
        "--block",
        "64",
        "--arg",
        "zeros:f32:40",
        "--arg",
        "nan:f32:40",
        "--arg",
        "u32:40",
    ]);
    assert_one_line_error(&o, "out-of-bounds");
}
