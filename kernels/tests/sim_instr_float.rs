//! PTX simulator tests, float family (rounding, fma, min/max/setp,
//! ftz and approx, cvt): hand-written PTX snippets with hand-computed expected
//! values, corners included.

mod sim_util;

use sim_util::*;

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
