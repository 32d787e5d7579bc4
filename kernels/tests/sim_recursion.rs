//! `call` to `.func`s that recurse, directly and through another function, run with a call
//! stack (each invocation its own registers, `.param` and `.local` state, as the PTX ISA's
//! ABI gives them), and a runaway recursion stops at the depth limit with a clear error.
//! Kernels: tests/ptx_nvrtc/recursion.cu; references: plain Rust recursion.

mod kernels_util;

use kernels::sim::{exec::MAX_CALL_DEPTH, KernelArg, LaunchConfig};
use kernels_util::*;

const RECURSION_PTX: &str = include_str!("ptx_nvrtc/recursion.ptx");

fn fib(n: u32) -> u32 {
    if n < 2 {
        n
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

#[test]
fn recursive_functions_compute_like_the_host() {
    let ctx = context();
    let f = function(&ctx, RECURSION_PTX, "recursion");
    let n = 100u32; // two blocks of 64, the last one partial
    let out = ctx.alloc(3 * n as usize * 4).unwrap();
    ctx.launch(
        &f,
        LaunchConfig::linear(2, 64),
        &[KernelArg::Ptr(out), KernelArg::U32(n)],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut b = vec![0u8; 3 * n as usize * 4];
    ctx.copy_dtoh(&mut b, out).unwrap();
    let o: Vec<u32> = b
        .chunks(4)
        .map(|x| u32::from_le_bytes(x.try_into().unwrap()))
        .collect();
    for t in 0..n {
        let i = 3 * t as usize;
        assert_eq!(o[i], fib(t % 16), "fib({}) in thread {t}", t % 16);
        assert_eq!(o[i + 1], (t % 2 == 0) as u32, "is_even({t})");
        let d = t % 40;
        assert_eq!(o[i + 2], d * (d + 1) / 2, "depth_sum({d})");
    }
}

fn deep_calls(depth: u32) -> Result<Vec<u32>, kernels::sim::SimError> {
    let ctx = context();
    let f = function(&ctx, RECURSION_PTX, "deep_calls");
    let out = ctx.alloc(32 * 4).unwrap();
    ctx.launch(
        &f,
        LaunchConfig::linear(1, 32),
        &[KernelArg::Ptr(out), KernelArg::U32(depth)],
    )?;
    let mut b = vec![0u8; 32 * 4];
    ctx.copy_dtoh(&mut b, out).unwrap();
    Ok(b.chunks(4)
        .map(|x| u32::from_le_bytes(x.try_into().unwrap()))
        .collect())
}

#[test]
fn runaway_recursion_hits_the_depth_limit() {
    // deep(n) nests n + 1 calls: lane 31 of deep_calls(limit - 32) nests exactly the limit
    let depth = MAX_CALL_DEPTH as u32 - 32;
    let o = deep_calls(depth).unwrap_or_else(|e| panic!("{e}"));
    let deep = |n: u32| (0..n).fold(0u32, |r, _| r.wrapping_mul(3).wrapping_add(1));
    assert_eq!(o, (0..32).map(|t| deep(depth + t)).collect::<Vec<_>>());
    let e = deep_calls(depth + 1).unwrap_err();
    assert_eq!(e.kind(), "runtime", "{e}");
    let msg = e.to_string();
    assert!(msg.contains("_Z4deepj"), "{msg}");
    assert!(msg.contains("thread (31,0,0)"), "{msg}");
    assert!(
        msg.contains(&format!("depth limit of {MAX_CALL_DEPTH}")),
        "{msg}"
    );
    let e = deep_calls(1_000_000).unwrap_err();
    assert_eq!(e.kind(), "runtime", "{e}");
}
