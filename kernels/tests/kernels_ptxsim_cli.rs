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

/// Every scalar `.param` type, at its natural alignment (PTX ISA: a `.param` is aligned to its
/// size unless `.align` says otherwise), so the block is: out@0, u8@8, s8@9, u16@10, s16@12,
/// b8@14, b16@16, b32@20, b64@24, f16 bits (.align 2 .b8 [2])@32, u32@36, s64@40. The kernel
/// loads each back and stores it; a value packed at the wrong offset or size reads back wrong.
const PARAMS_PTX: &str = ".version 7.8
.target sm_70
.address_size 64
.visible .entry params(.param .u64 out, .param .u8 a, .param .s8 b, .param .u16 c,
    .param .s16 d, .param .b8 e, .param .b16 f, .param .b32 g, .param .b64 h,
    .param .align 2 .b8 hf[2], .param .u32 i, .param .s64 j)
{
    .reg .b32 %r<12>;
    .reg .b64 %rd<4>;
    ld.param.u64 %rd1, [out];
    ld.param.u8 %r1, [a];
    st.global.u32 [%rd1], %r1;
    ld.param.s8 %r2, [b];
    st.global.u32 [%rd1+4], %r2;
    ld.param.u16 %r3, [c];
    st.global.u32 [%rd1+8], %r3;
    ld.param.s16 %r4, [d];
    st.global.u32 [%rd1+12], %r4;
    ld.param.u8 %r5, [e];
    st.global.u32 [%rd1+16], %r5;
    ld.param.u16 %r6, [f];
    st.global.u32 [%rd1+20], %r6;
    ld.param.b32 %r7, [g];
    st.global.u32 [%rd1+24], %r7;
    ld.param.u16 %r8, [hf];
    st.global.u32 [%rd1+28], %r8;
    ld.param.u32 %r9, [i];
    st.global.u32 [%rd1+32], %r9;
    ld.param.b64 %rd2, [h];
    st.global.u64 [%rd1+40], %rd2;
    ld.param.s64 %rd3, [j];
    st.global.u64 [%rd1+48], %rd3;
    ret;
}
";

#[test]
fn every_scalar_param_type_is_packed_at_its_size_and_offset() {
    let dir = tmpdir("params");
    let ptx = dir.join("params.ptx");
    std::fs::write(&ptx, PARAMS_PTX).unwrap();
    let output = dir.join("out.npy");
    let specs = [
        "zeros:u32:14",
        "u8:200",
        "s8:-5",
        "u16:0xfffe",
        "s16:-300",
        "b8:0x7f",
        "b16:-1",
        "b32:0xdeadbeef",
        "b64:-2",
        "f16:0x3c00",
        "u32:7",
        "s64:-9",
    ];
    let mut args: Vec<String> = vec![
        ptx.display().to_string(),
        "--kernel".into(),
        "params".into(),
        "--grid".into(),
        "1".into(),
        "--block".into(),
        "1".into(),
        "--out".into(),
        format!("0={}", output.display()),
    ];
    for s in specs {
        args.extend(["--arg".to_string(), s.to_string()]);
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = ptxsim(&argv);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let w = npy::read(&output).unwrap().to_u32().unwrap();
    let s8 = |v: i32| v as u32; // s8/s16 loads sign-extend to 32 bits
    assert_eq!(
        &w[..9],
        &[
            200,
            s8(-5),
            0xfffe,
            s8(-300),
            0x7f,
            0xffff,
            0xdead_beef,
            0x3c00,
            7
        ]
    );
    let u64_at = |i: usize| w[i] as u64 | (w[i + 1] as u64) << 32;
    assert_eq!(u64_at(10), -2i64 as u64);
    assert_eq!(u64_at(12), -9i64 as u64);

    // the wrong size for a parameter, and a value out of its type's range
    let mut wrong = argv.clone();
    let a = wrong.iter().position(|s| *s == "u8:200").unwrap();
    wrong[a] = "u16:200";
    assert_one_line_error(
        &ptxsim(&wrong),
        "is 2 bytes, parameter `a` (.u8) is 1 bytes",
    );
    wrong[a] = "u8:256";
    assert_one_line_error(&ptxsim(&wrong), "out of the type's range");
    wrong[a] = "s8:-129";
    assert_one_line_error(&ptxsim(&wrong), "out of the type's range");
    std::fs::remove_dir_all(dir).ok();
}
