//! Per-instruction-family tests of the PTX simulator: hand-written PTX snippets with
//! hand-computed expected values, corners included.

use kernels::sim::*;

const HEAD: &str = r#".version 7.8
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

fn ptx(body: &str) -> String {
    format!("{HEAD}{body}\n    ret;\n}}\n")
}

/// Run `body` with `threads` threads; returns the 256 u32 words of the output buffer.
fn run_opts(body: &str, threads: u32, checks: bool) -> Result<Vec<u32>, SimError> {
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
fn run(body: &str) -> Vec<u32> {
    run_opts(body, 1, true).unwrap_or_else(|e| panic!("{e}"))
}
fn run_n(body: &str, n: u32) -> Vec<u32> {
    run_opts(body, n, true).unwrap_or_else(|e| panic!("{e}"))
}
fn f(w: u32) -> f32 {
    f32::from_bits(w)
}
fn d64(o: &[u32], i: usize) -> u64 {
    o[i] as u64 | (o[i + 1] as u64) << 32
}

/// `op.s32 %r3, A, B` for each (op, a, b) stored to out[i].
fn int_ops(cases: &[(&str, i64, i64)]) -> Vec<u32> {
    let mut body = String::new();
    for (i, (op, a, b)) in cases.iter().enumerate() {
        body += &format!("    mov.b32 %r1, {a};\n    mov.b32 %r2, {b};\n    {op} %r3, %r1, %r2;\n    st.global.u32 [%out+{}], %r3;\n", i * 4);
    }
    run(&body)
}

#[test]
fn integer_arithmetic_corners() {
    let min = i32::MIN as i64;
    let cases = [
        ("add.s32", 0x7fff_ffff, 1),
        ("sub.u32", 0, 1),
        ("mul.lo.s32", 0x10000, 0x10000),
        ("mul.hi.s32", min, min),
        ("mul.hi.u32", -1, -1),
        ("mul.hi.s32", -1, -1),
        ("div.s32", -7, 2),
        ("rem.s32", -7, 2),
        ("div.u32", 7, 0),
        ("rem.u32", 7, 0),
        ("div.s32", min, -1),
        ("rem.s32", min, -1),
        ("div.s32", 5, 0),
        ("min.s32", -1, 1),
        ("min.u32", -1, 1),
        ("max.s32", -1, 1),
        ("max.u32", -1, 1),
        ("add.sat.s32", 0x7fff_fff0, 0x100),
        ("sub.sat.s32", min, 1),
        ("div.u32", -1, 16),
    ];
    let o = int_ops(&cases);
    let want: [u32; 20] = [
        0x8000_0000,
        0xffff_ffff,
        0,
        0x4000_0000,
        0xffff_fffe,
        0,
        (-3i32) as u32,
        (-1i32) as u32,
        u32::MAX,
        7,
        i32::MIN as u32,
        0,
        u32::MAX,
        u32::MAX,
        1,
        1,
        u32::MAX,
        i32::MAX as u32,
        i32::MIN as u32,
        0x0fff_ffff,
    ];
    for (i, w) in want.iter().enumerate() {
        assert_eq!(o[i], *w, "case {i}: {:?}", cases[i]);
    }
}

#[test]
fn shifts_clamp() {
    let cases = [
        ("shl.b32", 1, 0),
        ("shl.b32", 1, 31),
        ("shl.b32", 1, 32),
        ("shl.b32", 1, 33),
        ("shl.b32", 1, 255),
        ("shl.b32", 1, -1),
        ("shr.u32", -1, 31),
        ("shr.u32", -1, 32),
        ("shr.b32", -1, 255),
        ("shr.s32", -8, 1),
        ("shr.s32", -8, 32),
        ("shr.s32", -8, -1),
        ("shr.s32", 8, 40),
    ];
    let o = int_ops(&cases);
    let want = [
        1,
        0x8000_0000,
        0,
        0,
        0,
        0,
        1,
        0,
        0,
        (-4i32) as u32,
        u32::MAX,
        u32::MAX,
        0,
    ];
    assert_eq!(&o[..13], &want);
}

#[test]
fn wide_and_64bit() {
    let o = run(r#"
    mov.b32 %r1, -2;
    mov.b32 %r2, 3;
    mul.wide.s32 %rd1, %r1, %r2;
    st.global.u64 [%out], %rd1;
    mul.wide.u32 %rd2, %r1, %r2;
    st.global.u64 [%out+8], %rd2;
    mov.b64 %rd3, -1;
    mul.hi.u64 %rd4, %rd3, %rd3;
    st.global.u64 [%out+16], %rd4;
    mov.b64 %rd5, 100;
    mad.wide.s32 %rd6, %r1, %r2, %rd5;
    st.global.u64 [%out+24], %rd6;
    mad.lo.s32 %r3, %r1, %r2, 10;
    st.global.u32 [%out+32], %r3;
    mad.hi.u32 %r4, %r1, %r2, 1;
    st.global.u32 [%out+36], %r4;
    shl.b64 %rd7, %rd5, 64;
    st.global.u64 [%out+40], %rd7;
    shr.s64 %rd8, %rd3, 70;
    st.global.u64 [%out+48], %rd8;
    div.s64 %rd9, %rd3, 0;
    st.global.u64 [%out+56], %rd9;
    "#);
    assert_eq!(d64(&o, 0) as i64, -6);
    assert_eq!(d64(&o, 2), 0xffff_fffe * 3);
    assert_eq!(d64(&o, 4), u64::MAX - 1);
    assert_eq!(d64(&o, 6), 94);
    assert_eq!(o[8], 4);
    assert_eq!(o[9], 3); // hi(0xfffffffe * 3) = 2, + 1
    assert_eq!(d64(&o, 10), 0);
    assert_eq!(d64(&o, 12), u64::MAX);
    assert_eq!(d64(&o, 14), u64::MAX);
}

#[test]
fn bit_manipulation() {
    let o = run(r#"
    mov.b32 %r1, 0xF0F00001;
    popc.b32 %r2, %r1;
    st.global.u32 [%out], %r2;
    clz.b32 %r3, %r1;
    st.global.u32 [%out+4], %r3;
    clz.b32 %r3, 0;
    st.global.u32 [%out+8], %r3;
    brev.b32 %r4, 1;
    st.global.u32 [%out+12], %r4;
    bfe.u32 %r5, %r1, 28, 4;
    st.global.u32 [%out+16], %r5;
    bfe.s32 %r5, %r1, 28, 4;
    st.global.u32 [%out+20], %r5;
    bfe.u32 %r5, %r1, 0, 0;
    st.global.u32 [%out+24], %r5;
    bfe.s32 %r5, %r1, 40, 4;
    st.global.u32 [%out+28], %r5;
    bfi.b32 %r6, 0xF, 0, 8, 4;
    st.global.u32 [%out+32], %r6;
    bfi.b32 %r6, 0xF, 0x12345678, 8, 0;
    st.global.u32 [%out+36], %r6;
    prmt.b32 %r7, 0x44332211, 0x88776655, 0x7531;
    st.global.u32 [%out+40], %r7;
    prmt.b32 %r7, 0x44332211, 0x88776655, 0x000F;
    st.global.u32 [%out+44], %r7;
    not.b32 %r8, 0;
    st.global.u32 [%out+48], %r8;
    cnot.b32 %r8, 5;
    st.global.u32 [%out+52], %r8;
    bfind.u32 %r9, 0x100;
    st.global.u32 [%out+56], %r9;
    bfind.s32 %r9, -1;
    st.global.u32 [%out+60], %r9;
    abs.s32 %r10, -2147483648;
    st.global.u32 [%out+64], %r10;
    neg.s32 %r10, 5;
    st.global.u32 [%out+68], %r10;
    xor.b32 %r11, 0xFF, 0x0F;
    st.global.u32 [%out+72], %r11;
    shf.l.wrap.b32 %r12, 0x80000000, 1, 1;
    st.global.u32 [%out+76], %r12;
    lop3.b32 %r13, 0xF0, 0xCC, 0xAA, 0x80;
    st.global.u32 [%out+80], %r13;
    "#);
    assert_eq!(o[0], 9);
    assert_eq!(o[1], 0);
    assert_eq!(o[2], 32);
    assert_eq!(o[3], 0x8000_0000);
    assert_eq!(o[4], 0xF);
    assert_eq!(o[5], u32::MAX); // sign of the 4-bit field 0xF
    assert_eq!(o[6], 0);
    assert_eq!(o[7], u32::MAX); // pos beyond msb: sign bit replicated (bit 31 set)
    assert_eq!(o[8], 0xF00);
    assert_eq!(o[9], 0x12345678);
    assert_eq!(o[10], 0x88664422);
    assert_eq!(o[11], 0x1111_11FF); // selector 0xF: sign of byte 7 (0x88) replicated
    assert_eq!(o[12], u32::MAX);
    assert_eq!(o[13], 0);
    assert_eq!(o[14], 8);
    assert_eq!(o[15], u32::MAX);
    assert_eq!(o[16], 0x8000_0000);
    assert_eq!(o[17], (-5i32) as u32);
    assert_eq!(o[18], 0xF0);
    assert_eq!(o[19], 3); // (0x00000001:0x80000000) << 1, high word
    assert_eq!(o[20], 0x80);
}

#[test]
fn float_rounding_and_fma() {
    let o = run(r#"
    mov.f32 %f1, 0f3F800000;
    mov.f32 %f2, 0f33800000;
    add.rn.f32 %f3, %f1, %f2;
    st.global.f32 [%out], %f3;
    add.rz.f32 %f3, %f1, %f2;
    st.global.f32 [%out+4], %f3;
    add.rp.f32 %f3, %f1, %f2;
    st.global.f32 [%out+8], %f3;
    neg.f32 %f4, %f1;
    sub.f32 %f5, %f4, %f2;
    sub.rm.f32 %f3, %f4, %f2;
    st.global.f32 [%out+12], %f3;
    sub.rz.f32 %f3, %f4, %f2;
    st.global.f32 [%out+16], %f3;
    mov.f32 %f6, 0f3F800001;
    mov.f32 %f7, 0fBF800002;
    fma.rn.f32 %f8, %f6, %f6, %f7;
    st.global.f32 [%out+20], %f8;
    mul.rn.f32 %f9, %f6, %f6;
    add.rn.f32 %f9, %f9, %f7;
    st.global.f32 [%out+24], %f9;
    div.rn.f32 %f10, %f1, 0f40400000;
    st.global.f32 [%out+28], %f10;
    div.rz.f32 %f10, %f1, 0f40400000;
    st.global.f32 [%out+32], %f10;
    div.rp.f32 %f10, %f1, 0f40400000;
    st.global.f32 [%out+36], %f10;
    sqrt.rn.f32 %f11, 0f40000000;
    st.global.f32 [%out+40], %f11;
    sqrt.rp.f32 %f11, 0f40000000;
    st.global.f32 [%out+44], %f11;
    mul.rz.f32 %f12, 0f7F000000, 0f40000000;
    st.global.f32 [%out+48], %f12;
    mul.rn.f32 %f12, 0f7F000000, 0f40000000;
    st.global.f32 [%out+52], %f12;
    add.sat.f32 %f13, %f1, %f1;
    st.global.f32 [%out+56], %f13;
    mov.f64 %fd1, 0d3FF0000000000000;
    div.rn.f64 %fd2, %fd1, 0d4008000000000000;
    st.global.f64 [%out+64], %fd2;
    div.rp.f64 %fd2, %fd1, 0d4008000000000000;
    st.global.f64 [%out+72], %fd2;
    "#);
    let one = 1.0f32;
    let tiny = f(0x3380_0000); // 2^-24: half an ulp of 1.0
    assert_eq!(f(o[0]), one); // tie to even
    assert_eq!(f(o[1]), one);
    assert_eq!(f(o[2]), f(0x3F80_0001));
    assert_eq!(f(o[3]), f(0xBF80_0001)); // -1 - ... rounded down: away from zero
    assert_eq!(f(o[4]), -one);
    let _ = tiny;
    // fma is one rounding: (1+2^-23)^2 - (1+2^-22) = 2^-46 exactly
    assert_eq!(f(o[5]), (2.0f32).powi(-46));
    assert_eq!(f(o[6]), 0.0); // two roundings lose it
    assert_eq!(f(o[7]), 1.0f32 / 3.0);
    assert_eq!(f(o[8]), f((1.0f32 / 3.0).to_bits() - 1)); // 1/3 rounds up under rn
    assert_eq!(f(o[9]), 1.0f32 / 3.0);
    assert_eq!(f(o[10]), 2f32.sqrt());
    assert_eq!(f(o[11]), f(2f32.sqrt().to_bits() + 1)); // sqrt(2) rounds down under rn
    assert_eq!(f(o[12]), f32::MAX); // overflow with rz
    assert_eq!(f(o[13]), f32::INFINITY);
    assert_eq!(f(o[14]), 1.0); // sat
    let q = f64::from_bits(d64(&o, 16));
    assert_eq!(q, 1.0 / 3.0);
    assert_eq!(
        f64::from_bits(d64(&o, 18)),
        f64::from_bits((1.0f64 / 3.0).to_bits() + 1)
    );
}

#[test]
fn float_min_max_setp_nan_and_zero() {
    let o = run(r#"
    mov.f32 %f1, 0f7FC00000;
    mov.f32 %f2, 0f40000000;
    min.f32 %f3, %f1, %f2;
    st.global.f32 [%out], %f3;
    max.f32 %f3, %f2, %f1;
    st.global.f32 [%out+4], %f3;
    min.f32 %f3, %f1, %f1;
    st.global.f32 [%out+8], %f3;
    mov.f32 %f4, 0f00000000;
    mov.f32 %f5, 0f80000000;
    max.f32 %f6, %f5, %f4;
    st.global.f32 [%out+12], %f6;
    max.f32 %f6, %f4, %f5;
    st.global.f32 [%out+16], %f6;
    min.f32 %f6, %f4, %f5;
    st.global.f32 [%out+20], %f6;
    setp.ne.f32 %p1, %f1, %f2;
    selp.u32 %r1, 1, 0, %p1;
    st.global.u32 [%out+24], %r1;
    setp.neu.f32 %p1, %f1, %f2;
    selp.u32 %r1, 1, 0, %p1;
    st.global.u32 [%out+28], %r1;
    setp.equ.f32 %p1, %f1, %f1;
    selp.u32 %r1, 1, 0, %p1;
    st.global.u32 [%out+32], %r1;
    setp.eq.f32 %p1, %f4, %f5;
    selp.u32 %r1, 1, 0, %p1;
    st.global.u32 [%out+36], %r1;
    setp.nan.f32 %p1, %f1, %f2;
    selp.u32 %r1, 1, 0, %p1;
    st.global.u32 [%out+40], %r1;
    setp.num.f32 %p1, %f4, %f2;
    selp.u32 %r1, 1, 0, %p1;
    st.global.u32 [%out+44], %r1;
    setp.lt.f32 %p1, 0fFF800000, %f5;
    selp.u32 %r1, 1, 0, %p1;
    st.global.u32 [%out+48], %r1;
    setp.ltu.f32 %p1, %f1, %f2;
    selp.u32 %r1, 1, 0, %p1;
    st.global.u32 [%out+52], %r1;
    mov.b32 %r2, -1;
    mov.b32 %r3, 1;
    setp.lt.s32 %p2, %r2, %r3;
    setp.lo.u32 %p3, %r2, %r3;
    selp.u32 %r1, 1, 0, %p2;
    st.global.u32 [%out+56], %r1;
    selp.u32 %r1, 1, 0, %p3;
    st.global.u32 [%out+60], %r1;
    setp.hs.u32 %p4|%p5, %r2, %r3;
    selp.u32 %r1, 1, 0, %p4;
    st.global.u32 [%out+64], %r1;
    selp.u32 %r1, 1, 0, %p5;
    st.global.u32 [%out+68], %r1;
    setp.gt.and.s32 %p6, %r3, %r2, %p3;
    selp.u32 %r1, 1, 0, %p6;
    st.global.u32 [%out+72], %r1;
    setp.gt.or.s32 %p6, %r2, %r3, !%p3;
    selp.u32 %r1, 1, 0, %p6;
    st.global.u32 [%out+76], %r1;
    slct.u32.s32 %r4, 10, 20, %r2;
    st.global.u32 [%out+80], %r4;
    slct.u32.f32 %r4, 10, 20, %f5;
    st.global.u32 [%out+84], %r4;
    "#);
    assert_eq!(f(o[0]), 2.0);
    assert_eq!(f(o[1]), 2.0);
    assert!(f(o[2]).is_nan());
    assert_eq!(o[3], 0); // max(-0, +0) = +0
    assert_eq!(o[4], 0);
    assert_eq!(o[5], 0x8000_0000); // min(+0, -0) = -0
    assert_eq!(&o[6..14], &[0, 1, 1, 1, 1, 1, 1, 1]);
    assert_eq!(&o[14..20], &[1, 0, 1, 0, 0, 1]);
    assert_eq!(o[20], 20);
    assert_eq!(o[21], 10); // -0 >= 0
}

#[test]
fn ftz_and_approx_specials() {
    let o = run(r#"
    mov.f32 %f1, 0f00000001;
    add.ftz.f32 %f2, %f1, %f1;
    st.global.f32 [%out], %f2;
    add.f32 %f2, %f1, %f1;
    st.global.f32 [%out+4], %f2;
    mul.ftz.f32 %f3, 0f00800000, 0f3F000000;
    st.global.f32 [%out+8], %f3;
    mov.f32 %f4, 0f80000001;
    abs.ftz.f32 %f5, %f4;
    st.global.f32 [%out+12], %f5;
    rsqrt.approx.f32 %f6, 0f80000000;
    st.global.f32 [%out+16], %f6;
    ex2.approx.ftz.f32 %f7, 0fFF800000;
    st.global.f32 [%out+20], %f7;
    ex2.approx.f32 %f7, 0f40400000;
    st.global.f32 [%out+24], %f7;
    lg2.approx.f32 %f8, 0f00000000;
    st.global.f32 [%out+28], %f8;
    rcp.approx.f32 %f9, 0f40800000;
    st.global.f32 [%out+32], %f9;
    rcp.rn.f32 %f9, 0f80000000;
    st.global.f32 [%out+36], %f9;
    sqrt.approx.f32 %f10, 0fBF800000;
    st.global.f32 [%out+40], %f10;
    setp.lt.ftz.f32 %p1, %f4, 0f00000000;
    selp.u32 %r1, 1, 0, %p1;
    st.global.u32 [%out+44], %r1;
    "#);
    assert_eq!(o[0], 0);
    assert_eq!(o[1], 2);
    assert_eq!(o[2], 0); // result subnormal -> +0
    assert_eq!(o[3], 0);
    assert_eq!(f(o[4]), f32::NEG_INFINITY);
    assert_eq!(f(o[5]), 0.0);
    assert_eq!(f(o[6]), 8.0);
    assert_eq!(f(o[7]), f32::NEG_INFINITY);
    assert_eq!(f(o[8]), 0.25);
    assert_eq!(f(o[9]), f32::NEG_INFINITY);
    assert!(f(o[10]).is_nan());
    assert_eq!(o[11], 0); // -subnormal flushed to -0, not < 0
}

#[test]
fn cvt_rounding_saturation_nan() {
    let mut body = String::new();
    let cases: [(&str, u32); 18] = [
        ("cvt.rni.s32.f32", 2.5f32.to_bits()),
        ("cvt.rni.s32.f32", 3.5f32.to_bits()),
        ("cvt.rni.s32.f32", (-0.5f32).to_bits()),
        ("cvt.rzi.s32.f32", (-1.5f32).to_bits()),
        ("cvt.rmi.s32.f32", (-1.5f32).to_bits()),
        ("cvt.rpi.s32.f32", 1.2f32.to_bits()),
        ("cvt.rzi.s32.f32", f32::NAN.to_bits()),
        ("cvt.rzi.s32.f32", 3e9f32.to_bits()),
        ("cvt.rzi.s32.f32", (-3e9f32).to_bits()),
        ("cvt.rzi.u32.f32", (-1.0f32).to_bits()),
        ("cvt.rzi.u32.f32", f32::INFINITY.to_bits()),
        ("cvt.rni.u8.f32", 300.0f32.to_bits()),
        ("cvt.rni.s8.f32", (-300.0f32).to_bits()),
        ("cvt.rzi.s32.f32", 2147483648.0f32.to_bits()),
        ("cvt.rmi.s32.f32", (-2147483648.0f32).to_bits()),
        ("cvt.rni.s32.f32", 1.5f32.to_bits()),
        ("cvt.rni.s32.f32", (-2.5f32).to_bits()),
        ("cvt.rmi.ftz.s32.f32", 0x8000_0001),
    ];
    for (i, (op, v)) in cases.iter().enumerate() {
        body += &format!(
            "    mov.b32 %f1, {v};\n    {op} %r1, %f1;\n    st.global.u32 [%out+{}], %r1;\n",
            i * 4
        );
    }
    let o = run(&body);
    let want: [i64; 18] = [
        2,
        4,
        0,
        -1,
        -2,
        2,
        0,
        i32::MAX as i64,
        i32::MIN as i64,
        0,
        u32::MAX as i64,
        255,
        -128,
        i32::MAX as i64,
        i32::MIN as i64,
        2,
        -2,
        0,
    ];
    for (i, w) in want.iter().enumerate() {
        let got = if cases[i].0.contains(".u8.") {
            (o[i] & 0xff) as i64
        } else if cases[i].0.contains(".s8.") {
            (o[i] & 0xff) as i8 as i64
        } else if cases[i].0.contains(".u32.") {
            o[i] as i64
        } else {
            o[i] as i32 as i64
        };
        assert_eq!(got, *w, "case {i}: {:?}", cases[i]);
    }
}

#[test]
fn cvt_float_and_int_forms() {
    let o = run(r#"
    mov.f64 %fd1, 0d3FB999999999999A;
    cvt.rn.f32.f64 %f1, %fd1;
    st.global.f32 [%out], %f1;
    cvt.rz.f32.f64 %f1, %fd1;
    st.global.f32 [%out+4], %f1;
    cvt.rp.f32.f64 %f1, %fd1;
    st.global.f32 [%out+8], %f1;
    mov.b64 %rd1, 16777217;
    cvt.rn.f32.u64 %f2, %rd1;
    st.global.f32 [%out+12], %f2;
    cvt.rp.f32.u64 %f2, %rd1;
    st.global.f32 [%out+16], %f2;
    cvt.sat.f32.f32 %f3, 0f3FC00000;
    st.global.f32 [%out+20], %f3;
    cvt.sat.f32.f32 %f3, 0f7FC00000;
    st.global.f32 [%out+24], %f3;
    cvt.rzi.f32.f32 %f4, 0fC0300000;
    st.global.f32 [%out+28], %f4;
    cvt.rni.f32.f32 %f4, 0f40200000;
    st.global.f32 [%out+32], %f4;
    mov.b32 %r1, -1;
    cvt.u64.u32 %rd2, %r1;
    st.global.u64 [%out+40], %rd2;
    cvt.s64.s32 %rd3, %r1;
    st.global.u64 [%out+48], %rd3;
    cvt.u16.u32 %rs1, %r1;
    cvt.u32.u16 %r2, %rs1;
    st.global.u32 [%out+56], %r2;
    cvt.sat.s8.s32 %r3, 1000;
    cvt.s32.s8 %r4, %r3;
    st.global.u32 [%out+60], %r4;
    cvt.rn.f16.f32 %rs2, 0f3FC00000;
    cvt.f32.f16 %f5, %rs2;
    st.global.f32 [%out+64], %f5;
    cvt.rn.f16.f32 %rs3, 0f477FF000;
    cvt.u32.u16 %r5, %rs3;
    st.global.u32 [%out+68], %r5;
    cvt.rn.f32.s32 %f6, %r1;
    st.global.f32 [%out+72], %f6;
    cvt.f64.f32 %fd2, 0f3DCCCCCD;
    st.global.f64 [%out+80], %fd2;
    "#);
    let x = 0.1f64;
    assert_eq!(f(o[0]), x as f32);
    assert_eq!(f(o[1]), f((x as f32).to_bits() - 1)); // 0.1f32 rounds up under rn
    assert_eq!(f(o[2]), x as f32);
    assert_eq!(f(o[3]), 16777216.0);
    assert_eq!(f(o[4]), 16777218.0);
    assert_eq!(f(o[5]), 1.0);
    assert_eq!(f(o[6]), 0.0);
    assert_eq!(f(o[7]), -2.0);
    assert_eq!(f(o[8]), 2.0);
    assert_eq!(d64(&o, 10), 0xffff_ffff);
    assert_eq!(d64(&o, 12), u64::MAX);
    assert_eq!(o[14], 0xffff);
    assert_eq!(o[15], 127);
    assert_eq!(f(o[16]), 1.5);
    assert_eq!(o[17], 0x7c00); // 65520 rounds to +inf in f16
    assert_eq!(f(o[18]), -1.0);
    assert_eq!(f64::from_bits(d64(&o, 20)), 0.1f32 as f64);
}

#[test]
fn shuffles_partial_width_and_mask() {
    // every lane holds 100 + lane
    let o = run_n(
        r#"
    add.s32 %r1, %tid, 100;
    mov.u32 %r9, -1;
    shfl.sync.down.b32 %r2|%p1, %r1, 3, 0x181f, %r9;
    shfl.sync.up.b32 %r3|%p2, %r1, 2, 0x1800, %r9;
    shfl.sync.bfly.b32 %r4|%p3, %r1, 4, 0x1f, %r9;
    shfl.sync.idx.b32 %r5|%p4, %r1, 5, 0x181f, %r9;
    shfl.sync.idx.b32 %r6, %r1, 40, 0x1f, %r9;
    selp.u32 %r7, 1, 0, %p1;
    selp.u32 %r8, 1, 0, %p2;
    shl.b32 %r10, %tid, 4;
    cvt.u64.u32 %rd1, %r10;
    add.s64 %rd2, %out, %rd1;
    st.global.v4.u32 [%rd2], {%r2, %r3, %r4, %r5};
    add.s64 %rd3, %rd2, 512;
    st.global.v4.u32 [%rd3], {%r6, %r7, %r8, %r8};
    "#,
        32,
    );
    for lane in 0..32u32 {
        let (down, up, bfly, idx) = (
            o[lane as usize * 4],
            o[lane as usize * 4 + 1],
            o[lane as usize * 4 + 2],
            o[lane as usize * 4 + 3],
        );
        // width 8: down by 3 stays inside the 8-lane segment, else own value
        let seg = lane / 8 * 8;
        let want_down = if lane + 3 <= seg + 7 { lane + 3 } else { lane };
        assert_eq!(down, 100 + want_down, "down lane {lane}");
        let want_up = if lane >= seg + 2 { lane - 2 } else { lane };
        assert_eq!(up, 100 + want_up, "up lane {lane}");
        assert_eq!(bfly, 100 + (lane ^ 4));
        assert_eq!(idx, 100 + seg + 5, "idx lane {lane}");
        let q = &o[128 + lane as usize * 4..];
        assert_eq!(q[0], 100 + (40 & 31), "idx 40 is taken mod 32");
        assert_eq!(q[1], (lane + 3 <= seg + 7) as u32);
        assert_eq!(q[2], (lane >= seg + 2) as u32);
    }
}

#[test]
fn vote_ballot_with_born_exited_lanes() {
    // 20 threads: lanes 20..31 of the warp are born exited and contribute 0
    let o = run_n(
        r#"
    and.b32 %r1, %tid, 1;
    setp.eq.u32 %p1, %r1, 0;
    mov.u32 %r9, -1;
    vote.sync.ballot.b32 %r2, %p1, %r9;
    vote.sync.all.pred %p2, %p1, %r9;
    vote.sync.any.pred %p3, %p1, %r9;
    setp.lt.u32 %p4, %tid, 100;
    vote.sync.all.pred %p5, %p4, %r9;
    vote.sync.uni.pred %p6, %p4, %r9;
    vote.sync.ballot.b32 %r7, !%p1, %r9;
    setp.ne.u32 %p7, %tid, 0;
    @%p7 bra DONE;
    selp.u32 %r3, 1, 0, %p2;
    selp.u32 %r4, 1, 0, %p3;
    selp.u32 %r5, 1, 0, %p5;
    selp.u32 %r6, 1, 0, %p6;
    st.global.v4.u32 [%out], {%r2, %r3, %r4, %r5};
    st.global.v2.u32 [%out+16], {%r6, %r7};
DONE:
    "#,
        20,
    );
    assert_eq!(o[0], 0x55555);
    assert_eq!(&o[1..6], &[0, 1, 1, 1, 0xAAAAA]);
}

#[test]
fn barrier_reductions_and_early_exit() {
    // 100 threads; threads >= 90 return before the barrier (legal: exited threads release it)
    let o = run_n(
        r#"
    setp.ge.u32 %p1, %tid, 90;
    @%p1 bra END;
    setp.lt.u32 %p2, %tid, 10;
    bar.red.popc.u32 %r1, 0, %p2;
    bar.red.or.pred %p3, 0, %p2;
    bar.red.and.pred %p4, 0, %p2;
    bar.sync 0;
    setp.ne.u32 %p5, %tid, 0;
    @%p5 bra END;
    selp.u32 %r2, 1, 0, %p3;
    selp.u32 %r3, 1, 0, %p4;
    st.global.v2.u32 [%out], {%r1, %r2};
    st.global.u32 [%out+8], %r3;
END:
    "#,
        100,
    );
    assert_eq!(&o[..3], &[10, 1, 0]);
}

#[test]
fn atomics_shared_and_global() {
    let o = run_n(
        r#"
    .shared .align 4 .b8 sm[16];
    setp.ne.u32 %p1, %tid, 0;
    @%p1 bra SKIP;
    st.shared.u32 [sm], 0;
    st.shared.u32 [sm+4], 0;
SKIP:
    bar.sync 0;
    atom.shared.add.u32 %r1, [sm], 1;
    atom.shared.inc.u32 %r2, [sm+4], 9;
    atom.global.add.f32 %f1, [%out+8], 0f3F000000;
    red.global.max.s32 [%out+12], %tid;
    atom.global.cas.b32 %r3, [%out+16], 0, 77;
    atom.global.exch.b32 %r4, [%out+20], %tid;
    atom.global.min.u32 %r5, [%out+24], %tid;
    bar.sync 0;
    @%p1 bra END;
    ld.shared.u32 %r6, [sm];
    ld.shared.u32 %r7, [sm+4];
    st.global.v2.u32 [%out], {%r6, %r7};
END:
    "#,
        64,
    );
    assert_eq!(o[0], 64);
    assert_eq!(o[1], 64 % 10); // inc wraps at 9: 0..9,0..
    assert_eq!(f(o[2]), 32.0);
    assert_eq!(o[3], 63);
    assert_eq!(o[4], 77);
    assert!(o[5] < 64);
    assert_eq!(o[6], 0);
}

#[test]
fn vectors_local_generic_and_calls() {
    let src = r#".version 7.8
.target sm_70
.address_size 64
.func (.param .b32 r) twice(.param .b32 x)
{
    .reg .b32 %a;
    ld.param.b32 %a, [x];
    shl.b32 %a, %a, 1;
    st.param.b32 [r], %a;
    ret;
}
.visible .entry t(.param .u64 t_out)
{
    .local .align 16 .b8 depot[32];
    .shared .align 16 .b8 sh[64];
    .reg .b64 %rd<12>;
    .reg .b32 %r<12>;
    .reg .f32 %f<8>;
    ld.param.u64 %rd1, [t_out];
    mov.u64 %rd2, depot;
    st.local.v4.f32 [%rd2], {0f3F800000, 0f40000000, 0f40400000, 0f40800000};
    cvta.local.u64 %rd3, %rd2;
    ld.v2.f32 {%f1, %f2}, [%rd3+8];
    mov.u64 %rd4, sh;
    cvta.shared.u64 %rd5, %rd4;
    st.u32 [%rd5+4], 41;
    ld.shared.u32 %r1, [sh+4];
    cvta.to.shared.u64 %rd6, %rd5;
    ld.shared.u32 %r2, [%rd6+4];
    mov.b64 %rd7, {%r1, %r2};
    mov.b64 {%r3, %r4}, %rd7;
    {
    .reg .b32 %r1;
    .param .b32 p0;
    .param .b32 r0;
    mov.u32 %r1, 21;
    st.param.b32 [p0], %r1;
    call.uni (r0), twice, (p0);
    ld.param.b32 %r5, [r0];
    }
    st.global.v2.f32 [%rd1], {%f1, %f2};
    st.global.v4.u32 [%rd1+16], {%r1, %r3, %r4, %r5};
    st.global.u64 [%rd1+32], %rd7;
    ret;
}
"#;
    let c = Context::new(SimOptions::default());
    let m = c.load_module(src).unwrap();
    let f_ = m.function("t").unwrap();
    assert_eq!(f_.params().len(), 1);
    let out = c.alloc(64).unwrap();
    c.launch(&f_, LaunchConfig::linear(1, 1), &[KernelArg::Ptr(out)])
        .unwrap();
    let mut b = vec![0u8; 64];
    c.copy_dtoh(&mut b, out).unwrap();
    let w: Vec<u32> = b
        .chunks(4)
        .map(|x| u32::from_le_bytes(x.try_into().unwrap()))
        .collect();
    assert_eq!(f(w[0]), 3.0);
    assert_eq!(f(w[1]), 4.0);
    assert_eq!(&w[4..8], &[41, 41, 41, 42]);
    assert_eq!(d64(&w, 8), 41 | 41 << 32);
}

#[test]
fn context_memory_api_and_counters() {
    let c = Context::new(SimOptions::default());
    let a = c.alloc(100).unwrap();
    let b = c.alloc(100).unwrap();
    assert!(b.0 - a.0 > 1 << 20, "allocations far apart");
    c.memset_d8(a, 7, 100).unwrap();
    c.copy_dtod(b, a, 100).unwrap();
    let mut h = vec![0u8; 100];
    c.copy_dtoh(&mut h, b).unwrap();
    assert!(h.iter().all(|&x| x == 7));
    assert!(c.copy_htod(a.offset(90), &[0u8; 20]).is_err());
    c.synchronize().unwrap();
    let t = c.counters();
    assert_eq!(
        (t.dtoh_copies, t.dtoh_bytes, t.dtod_copies, t.syncs),
        (1, 100, 1, 1)
    );
    c.free(a).unwrap();
    assert_eq!(c.free(a).unwrap_err().kind(), "invalid-pointer");
}
