//! A kernel parameter's address (`mov.b64 %rd, param`), which NVRTC takes to index a
//! by-value struct, read through `ld.param [%rd + off]`: each thread reads the word its
//! index selects (PTX ISA, "Kernel Function Parameters": the address of a kernel parameter
//! may be moved into a register and used by ld.param). Out-of-range reads are errors.

use kernels::sim::{Context, LaunchConfig, SimOptions};

const PTX: &str = r#".version 7.8
.target sm_70
.address_size 64
.visible .entry pick(.param .u64 out, .param .align 8 .b8 table[32], .param .u32 stride)
{
    .reg .b32 %r<8>;
    .reg .b64 %rd<8>;
    ld.param.u64 %rd1, [out];
    ld.param.u32 %r3, [stride];
    mov.b64 %rd2, table;
    mov.u32 %r1, %tid.x;
    mul.lo.u32 %r4, %r1, %r3;
    cvt.u64.u32 %rd3, %r4;
    add.s64 %rd4, %rd2, %rd3;
    ld.param.u32 %r2, [%rd4+4];
    mul.wide.u32 %rd5, %r1, 4;
    add.s64 %rd6, %rd1, %rd5;
    st.global.u32 [%rd6], %r2;
    ret;
}
"#;

/// The parameter block of `pick`: out, then the 8-aligned 32-byte table, then the stride.
fn params(out: u64, words: [u32; 8], stride: u32) -> Vec<u8> {
    let mut p = out.to_le_bytes().to_vec();
    p.extend(words.iter().flat_map(|w| w.to_le_bytes()));
    p.extend(stride.to_le_bytes());
    p
}

#[test]
fn a_parameter_address_indexes_a_by_value_struct() {
    let ctx = Context::new(SimOptions::default());
    let f = ctx.load_module(PTX).unwrap().function("pick").unwrap();
    let out = ctx.alloc(16).unwrap();
    let words = [10, 11, 12, 13, 14, 15, 16, 17];
    // Thread t reads word 1 + 2t (byte 4 + 8t of the table).
    ctx.launch_packed(&f, LaunchConfig::linear(1, 4), &params(out.0, words, 8))
        .unwrap();
    let mut got = [0u8; 16];
    ctx.copy_dtoh(&mut got, out).unwrap();
    let got: Vec<u32> = got
        .chunks(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(got, vec![11, 13, 15, 17]);
}

#[test]
fn reading_past_the_parameter_block_is_an_error() {
    let ctx = Context::new(SimOptions::default());
    let f = ctx.load_module(PTX).unwrap().function("pick").unwrap();
    let out = ctx.alloc(16).unwrap();
    // Thread 2 reads bytes 44..48 (8 + 2 * 16 + 4), past the 44-byte block.
    let e = ctx
        .launch_packed(&f, LaunchConfig::linear(1, 4), &params(out.0, [0; 8], 16))
        .unwrap_err();
    assert!(e.to_string().contains("param"), "{e}");
}
