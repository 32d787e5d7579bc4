//! Bad PTX and bad launches give a clear error of the right kind (never a panic), and the
//! parser/decoder survives thousands of mutations of real NVRTC output.

use kernels::sim::*;

#[path = "sim_nvrtc.rs"]
#[allow(dead_code)]
mod nvrtc;
use nvrtc::{FUNCS, SAXPY_SGEMM_RED};

const HEAD: &str = ".version 7.8\n.target sm_70\n.address_size 64\n.visible .entry t(.param .u64 t_out)\n{\n    .reg .pred %p<8>;\n    .reg .b32 %r<40>;\n    .reg .b64 %rd<40>;\n    .reg .f32 %f<40>;\n    .reg .b64 %out;\n    .reg .b32 %tid;\n    ld.param.u64 %out, [t_out];\n    mov.u32 %tid, %tid.x;\n";

fn ptx(body: &str) -> String {
    format!("{HEAD}{body}\n    ret;\n}}\n")
}

fn launch(body: &str, threads: u32) -> Result<LaunchStats, SimError> {
    let c = Context::new(SimOptions {
        checks: true,
        parallel: false,
    });
    let m = c.load_module(&ptx(body))?;
    let f = m.function("t")?;
    let out = c.alloc(256)?;
    c.launch(&f, LaunchConfig::linear(1, threads), &[KernelArg::Ptr(out)])
}

#[test]
fn parse_errors_name_line_and_text() {
    let c = Context::new(SimOptions::default());
    let e = c
        .load_module(&ptx("    frobnicate.b32 %r1, %r2;"))
        .unwrap_err();
    assert_eq!(e.kind(), "parse");
    assert_eq!(e.ptx_line(), Some(14));
    assert!(e.to_string().contains("frobnicate"), "{e}");
    let e = c.load_module(&ptx("    bra NOWHERE;")).unwrap_err();
    assert!(e.to_string().contains("undefined label `NOWHERE`"), "{e}");
    let e = c.load_module(&ptx("    add.f32 %r1, %r2;")).unwrap_err();
    assert_eq!(e.kind(), "parse");
    let e = c
        .load_module(&ptx("    add.s32 %r1, %r2, %nosuch;"))
        .unwrap_err();
    assert!(e.to_string().contains("%nosuch"), "{e}");
    let e = c
        .load_module(&ptx("    ld.global.v8.f32 {%f1}, [%out];"))
        .unwrap_err();
    assert_eq!(e.kind(), "parse");
    let e = c
        .load_module(&ptx("    cvt.s32.f32 %r1, %f1;"))
        .unwrap_err();
    assert!(e.to_string().contains("rni"), "{e}");
    // truncated text
    let t = &SAXPY_SGEMM_RED[..SAXPY_SGEMM_RED.len() / 2];
    let e = c.load_module(t).unwrap_err();
    assert_eq!(e.kind(), "parse", "{e}");
    assert!(e.to_string().contains("end of text"), "{e}");
    assert!(c.load_module("").is_err());
    let m = c.load_module(SAXPY_SGEMM_RED).unwrap();
    assert_eq!(m.function("nope").unwrap_err().kind(), "no-such-function");
}

#[test]
fn bad_launches() {
    let c = Context::new(SimOptions::default());
    let m = c.load_module(SAXPY_SGEMM_RED).unwrap();
    let f = m.function("saxpy").unwrap();
    let p = c.alloc(64).unwrap();
    let e = c
        .launch(
            &f,
            LaunchConfig::linear(1, 32),
            &[KernelArg::I32(16), KernelArg::F32(1.0), KernelArg::Ptr(p)],
        )
        .unwrap_err();
    assert_eq!(e.kind(), "bad-launch");
    assert!(
        e.to_string()
            .contains("3 arguments given, the kernel takes 4"),
        "{e}"
    );
    let e = c
        .launch(
            &f,
            LaunchConfig::linear(1, 32),
            &[
                KernelArg::I64(16),
                KernelArg::F32(1.0),
                KernelArg::Ptr(p),
                KernelArg::Ptr(p),
            ],
        )
        .unwrap_err();
    assert_eq!(e.kind(), "bad-launch");
    let args = [
        KernelArg::I32(16),
        KernelArg::F32(1.0),
        KernelArg::Ptr(p),
        KernelArg::Ptr(p),
    ];
    assert_eq!(
        c.launch(&f, LaunchConfig::linear(1, 2048), &args)
            .unwrap_err()
            .kind(),
        "bad-launch"
    );
    assert_eq!(
        c.launch(&f, LaunchConfig::linear(0, 32), &args)
            .unwrap_err()
            .kind(),
        "bad-launch"
    );
    // buffer too small: 64 bytes = 16 floats, n = 17
    let args = [
        KernelArg::I32(17),
        KernelArg::F32(1.0),
        KernelArg::Ptr(p),
        KernelArg::Ptr(p),
    ];
    let e = c
        .launch(&f, LaunchConfig::linear(1, 32), &args)
        .unwrap_err();
    assert_eq!(e.kind(), "out-of-bounds", "{e}");
    let s = e.to_string();
    assert!(
        s.contains("saxpy") && s.contains("thread (16,0,0)") && s.contains("block (0,0,0)"),
        "{s}"
    );
    assert!(s.contains("PTX line 51"), "{s}"); // ld.global.nc.f32 (the text starts with a newline)
}

#[test]
fn memory_checks() {
    let e = launch("    ld.global.v4.f32 {%f1, %f2, %f3, %f4}, [%out+4];", 1).unwrap_err();
    assert_eq!(e.kind(), "misaligned", "{e}");
    let e = launch("    ld.global.u32 %r1, [%out+256];", 1).unwrap_err();
    assert_eq!(e.kind(), "out-of-bounds", "{e}");
    let e = launch(
        "    .shared .align 4 .b8 s[64];\n    st.shared.u32 [s+64], 1;",
        1,
    )
    .unwrap_err();
    assert_eq!(e.kind(), "out-of-bounds", "{e}");
    let e = launch(
        "    .local .align 4 .b8 l[8];\n    mov.u64 %rd1, l;\n    st.local.u32 [%rd1+8], 1;",
        1,
    )
    .unwrap_err();
    assert_eq!(e.kind(), "out-of-bounds", "{e}");
    let e = launch("    mov.u64 %rd1, 0;\n    ld.u32 %r1, [%rd1];", 1).unwrap_err();
    assert_eq!(e.kind(), "out-of-bounds", "{e}");
}

#[test]
fn shared_races() {
    // everyone writes s[0], thread 0 reads it with no barrier between
    let body = "    .shared .align 4 .b8 s[64];\n    st.shared.u32 [s], %tid;\n    ld.shared.u32 %r1, [s];\n    st.global.u32 [%out], %r1;";
    let e = launch(body, 64).unwrap_err();
    assert_eq!(e.kind(), "shared-race", "{e}");
    assert!(e.to_string().contains("PTX line"), "{e}");
    // with a barrier between write and read and distinct slots: clean
    let body = "    .shared .align 4 .b8 s[256];\n    shl.b32 %r1, %tid, 2;\n    cvt.u64.u32 %rd1, %r1;\n    mov.u64 %rd2, s;\n    add.s64 %rd3, %rd2, %rd1;\n    st.shared.u32 [%rd3], %tid;\n    bar.sync 0;\n    ld.shared.u32 %r2, [s+4];\n    bar.sync 0;\n    st.shared.u32 [%rd3], %r2;";
    launch(body, 64).unwrap();
    // atomic vs atomic is fine; a plain read of it before a barrier is not
    let body = "    .shared .align 4 .b8 s[4];\n    setp.ne.u32 %p1, %tid, 0;\n    @%p1 bra L;\n    st.shared.u32 [s], 0;\nL:\n    bar.sync 0;\n    atom.shared.add.u32 %r1, [s], 1;\n    bar.sync 0;\n    ld.shared.u32 %r2, [s];";
    launch(body, 64).unwrap();
    let body = "    .shared .align 4 .b8 s[4];\n    setp.ne.u32 %p1, %tid, 0;\n    @%p1 bra L;\n    st.shared.u32 [s], 0;\nL:\n    bar.sync 0;\n    atom.shared.add.u32 %r1, [s], 1;\n    ld.shared.u32 %r2, [s];";
    assert_eq!(launch(body, 64).unwrap_err().kind(), "shared-race");
}

#[test]
fn barrier_divergence_and_shuffle_mismatch() {
    // bar.sync inside `if (tid < 16)` with code after it
    let body = "    setp.ge.u32 %p1, %tid, 16;\n    @%p1 bra SKIP;\n    bar.sync 0;\nSKIP:\n    st.global.u32 [%out], %tid;";
    let e = launch(body, 32).unwrap_err();
    assert_eq!(e.kind(), "barrier-divergence", "{e}");
    // two different barriers (if/else), warp-uniform condition
    let body = "    setp.ge.u32 %p1, %tid, 32;\n    @%p1 bra ELSE;\n    bar.sync 0;\n    bra END;\nELSE:\n    bar.sync 0;\nEND:";
    let e = launch(body, 64).unwrap_err();
    assert_eq!(e.kind(), "barrier-divergence", "{e}");
    // full-mask shuffle inside `if (lane < 16)` while the other lanes leave
    let body = "    setp.ge.u32 %p1, %tid, 16;\n    @%p1 bra END;\n    mov.u32 %r9, -1;\n    shfl.sync.bfly.b32 %r1, %tid, 1, 31, %r9;\nEND:";
    let e = launch(body, 32).unwrap_err();
    assert_eq!(e.kind(), "shuffle-mismatch", "{e}");
    // full-mask shuffle while the other half waits at a barrier
    let body = "    setp.ge.u32 %p1, %tid, 16;\n    @%p1 bra B;\n    mov.u32 %r9, -1;\n    shfl.sync.bfly.b32 %r1, %tid, 1, 31, %r9;\nB:\n    bar.sync 0;";
    let e = launch(body, 32).unwrap_err();
    assert_eq!(e.kind(), "shuffle-mismatch", "{e}");
    assert!(e.to_string().contains("barrier"), "{e}");
    // a trap
    assert_eq!(launch("    trap;", 1).unwrap_err().kind(), "trap");
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(src: &str, r: &mut Rng) -> String {
    let mut lines: Vec<String> = src.lines().map(|s| s.to_string()).collect();
    let n = lines.len();
    match r.below(8) {
        0 => {
            let mut cut = r.below(src.len());
            while !src.is_char_boundary(cut) {
                cut -= 1;
            }
            return src[..cut].to_string();
        }
        1 => {
            lines.remove(r.below(n));
        }
        2 => {
            let i = r.below(n);
            let l = lines[i].clone();
            lines.insert(r.below(n), l);
        }
        3 => {
            let (i, j) = (r.below(n), r.below(n));
            lines.swap(i, j);
        }
        4 => {
            let i = r.below(n);
            let junk = [
                "{",
                "}",
                ";",
                ",",
                "[",
                "]",
                "%r1",
                "0f7FC00000",
                ".reg",
                "@",
                "!",
                "|",
                "-",
                "9999999999999999999999",
                "_",
                ":",
                "(",
                ")",
                ".b8",
                "\"",
                "/*",
            ];
            let l = &mut lines[i];
            let mut pos = r.below(l.len() + 1);
            while !l.is_char_boundary(pos) {
                pos -= 1;
            }
            l.insert_str(pos, junk[r.below(junk.len())]);
        }
        5 => {
            // drop one token
            let i = r.below(n);
            let toks: Vec<&str> = lines[i].split_whitespace().collect();
            if !toks.is_empty() {
                let k = r.below(toks.len());
                lines[i] = toks
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != k)
                    .map(|(_, t)| *t)
                    .collect::<Vec<_>>()
                    .join(" ");
            }
        }
        6 => {
            // change one character
            let i = r.below(n);
            let mut b = lines[i].clone().into_bytes();
            if !b.is_empty() {
                let k = r.below(b.len());
                b[k] = b"%.,;[]{}0123456789abfsuxyz_-+|!@ "[r.below(33)];
                lines[i] = String::from_utf8_lossy(&b).into_owned();
            }
        }
        _ => {
            // swap a number for an extreme one
            let i = r.below(n);
            lines[i] =
                lines[i].replace('1', ["0", "4294967295", "-1", "65536", "1024"][r.below(5)]);
        }
    }
    lines.join("\n")
}

#[test]
fn fuzz_parser_never_panics() {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let c = Context::new(SimOptions::default());
    let mut loaded = 0;
    let srcs = [SAXPY_SGEMM_RED, FUNCS];
    for i in 0..4000 {
        let base = srcs[i % 2];
        let mut s = mutate(base, &mut r);
        if r.below(3) == 0 {
            s = mutate(&s, &mut r);
        }
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            c.load_module(&s).map(|m| m.function_names().len())
        }));
        match res {
            Ok(Ok(_)) => loaded += 1,
            Ok(Err(e)) => assert!(!e.to_string().is_empty()),
            Err(_) => panic!("panic on mutation {i}:\n{s}"),
        }
    }
    assert!(loaded > 100, "{loaded}");
}
