//! PTX simulator tests, integer family (arithmetic, shifts, wide and 64-bit ops,
//! bit manipulation): hand-written PTX snippets with hand-computed expected
//! values, corners included.

mod sim_util;

use sim_util::*;

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
