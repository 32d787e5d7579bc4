//! Helpers shared by the per-instruction-family simulator tests (`mod sim_util;` in each
//! tests/sim_instr_*.rs): a PTX wrapper around a snippet and single-block runners.
#![allow(dead_code)]

use kernels::sim::*;

pub const HEAD: &str = r#".version 7.8
.target sm_70
.address_size 64
.visible .entry t(.param .u64 t_out, .param .u32 t_n)
{
    .reg .pred %p<8>;
    .reg .b16 %rs<8>;
    .reg .b32 %r<40>;
    .reg .b64 %rd<40>;
    .reg .f32 %f<40>;
    .reg .f64 %fd<16>;
    .reg .b64 %out;
    .reg .b32 %tid;
    ld.param.u64 %out, [t_out];
    mov.u32 %tid, %tid.x;
"#;

pub fn ptx(body: &str) -> String {
    format!("{HEAD}{body}\n    ret;\n}}\n")
}

/// Run `body` with `threads` threads; returns the 256 u32 words of the output buffer.
pub fn run_opts(body: &str, threads: u32, checks: bool) -> Result<Vec<u32>, SimError> {
    let c = Context::new(SimOptions {
        checks,
        parallel: false,
    });
    let m = c.load_module(&ptx(body))?;
    let f = m.function("t")?;
    let out = c.alloc(1024)?;
    c.launch(
        &f,
        LaunchConfig::linear(1, threads),
        &[KernelArg::Ptr(out), KernelArg::U32(7)],
    )?;
    let mut b = vec![0u8; 1024];
    c.copy_dtoh(&mut b, out)?;
    Ok(b.chunks(4)
        .map(|x| u32::from_le_bytes(x.try_into().unwrap()))
        .collect())
}
pub fn run(body: &str) -> Vec<u32> {
    run_opts(body, 1, true).unwrap_or_else(|e| panic!("{e}"))
}
pub fn run_n(body: &str, n: u32) -> Vec<u32> {
    run_opts(body, n, true).unwrap_or_else(|e| panic!("{e}"))
}
pub fn f(w: u32) -> f32 {
    f32::from_bits(w)
}
pub fn d64(o: &[u32], i: usize) -> u64 {
    o[i] as u64 | (o[i + 1] as u64) << 32
}

/// `op.s32 %r3, A, B` for each (op, a, b) stored to out[i].
pub fn int_ops(cases: &[(&str, i64, i64)]) -> Vec<u32> {
    let mut body = String::new();
    for (i, (op, a, b)) in cases.iter().enumerate() {
        body += &format!("    mov.b32 %r1, {a};\n    mov.b32 %r2, {b};\n    {op} %r3, %r1, %r2;\n    st.global.u32 [%out+{}], %r3;\n", i * 4);
    }
    run(&body)
}
