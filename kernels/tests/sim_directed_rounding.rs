//! Directed rounding (`.rz`, `.rm`, `.rp`) on add, sub, mul, fma, div, sqrt and cvt, f32 and
//! f64: overflow, gradual underflow to the neighbouring subnormal, and signed zeros. Every
//! expected bit pattern is derived by hand from IEEE 754-2019 (the section is named per case);
//! the square roots are checked by exact integer squaring in the test itself.

mod sim_util;
use sim_util::*;

/// Result register class of a case: where the harness stores it from.
#[derive(Clone, Copy)]
enum Dst {
    F32,
    F64,
    F16,
}

/// One case: PTX computing into `%f9` / `%fd9` / `%rs7`, the expected bits, the rule.
type Case = (String, Dst, u64, &'static str);

const MAX32: u32 = 0x7f7f_ffff;
const INF32: u32 = 0x7f80_0000;
const NEG: u32 = 0x8000_0000;
const MAX64: u64 = 0x7fef_ffff_ffff_ffff;
const INF64: u64 = 0x7ff0_0000_0000_0000;
const NEG64: u64 = 1 << 63;

// IEEE 754-2019 rules the cases cite.
const OVF: &str = "§7.4 overflow: rz, and rm/rp away from the infinity, give the largest finite";
const OVF_INF: &str = "§7.4 overflow: rn, and rm/rp towards the infinity, give infinity";
const UNF: &str = "§4.3.2/§7.5 an inexact tiny result rounds to the neighbouring subnormal (or zero) in the rounding direction";
const ZERO: &str = "§6.3 an exact zero sum of opposite signs is +0, -0 under roundTowardNegative";
const DIR: &str = "§4.3.2 directed rounding: rz truncates, rm rounds down, rp rounds up";
const FMA: &str = "§5.4.1 fusedMultiplyAdd rounds once";

fn bin32(op: &str, a: u32, b: u32) -> String {
    format!("mov.b32 %f1, 0f{a:08X};\n    mov.b32 %f2, 0f{b:08X};\n    {op} %f9, %f1, %f2;")
}
fn bin64(op: &str, a: u64, b: u64) -> String {
    format!("mov.b64 %fd1, 0d{a:016X};\n    mov.b64 %fd2, 0d{b:016X};\n    {op} %fd9, %fd1, %fd2;")
}
fn fma32(op: &str, a: u32, b: u32, c: u32) -> String {
    format!("mov.b32 %f1, 0f{a:08X};\n    mov.b32 %f2, 0f{b:08X};\n    mov.b32 %f3, 0f{c:08X};\n    {op} %f9, %f1, %f2, %f3;")
}
fn fma64(op: &str, a: u64, b: u64, c: u64) -> String {
    format!("mov.b64 %fd1, 0d{a:016X};\n    mov.b64 %fd2, 0d{b:016X};\n    mov.b64 %fd3, 0d{c:016X};\n    {op} %fd9, %fd1, %fd2, %fd3;")
}
fn un32(op: &str, a: u32) -> String {
    format!("mov.b32 %f1, 0f{a:08X};\n    {op} %f9, %f1;")
}
fn un64(op: &str, a: u64) -> String {
    format!("mov.b64 %fd1, 0d{a:016X};\n    {op} %fd9, %fd1;")
}

/// Runs the cases in one launch (one 8-byte output slot each) and compares bit patterns.
fn check(cases: &[Case]) {
    assert!(cases.len() <= 128);
    let mut body = String::new();
    for (i, (code, dst, _, _)) in cases.iter().enumerate() {
        let st = match dst {
            Dst::F32 => "st.global.b32 [%out+{o}], %f9;",
            Dst::F64 => "st.global.b64 [%out+{o}], %fd9;",
            Dst::F16 => "st.global.b16 [%out+{o}], %rs7;",
        };
        body += &format!(
            "    {code}\n    {}\n",
            st.replace("{o}", &(i * 8).to_string())
        );
    }
    let o = run(&body);
    for (i, (code, dst, want, rule)) in cases.iter().enumerate() {
        let got = match dst {
            Dst::F32 => o[2 * i] as u64,
            Dst::F64 => d64(&o, 2 * i),
            Dst::F16 => (o[2 * i] & 0xffff) as u64,
        };
        assert_eq!(
            got, *want,
            "case {i}: `{code}` gave {got:#x}, want {want:#x} ({rule})"
        );
    }
}

fn c32(code: String, want: u32, rule: &'static str) -> Case {
    (code, Dst::F32, want as u64, rule)
}
fn c64(code: String, want: u64, rule: &'static str) -> Case {
    (code, Dst::F64, want, rule)
}

#[test]
fn f32_overflow_gives_max_finite_or_infinity_by_direction() {
    let nmax = MAX32 | NEG;
    check(&[
        c32(bin32("add.rz.f32", MAX32, MAX32), MAX32, OVF),
        c32(bin32("add.rm.f32", MAX32, MAX32), MAX32, OVF),
        c32(bin32("add.rp.f32", MAX32, MAX32), INF32, OVF_INF),
        c32(bin32("add.rn.f32", MAX32, MAX32), INF32, OVF_INF),
        c32(bin32("add.rp.f32", nmax, nmax), nmax, OVF),
        c32(bin32("add.rm.f32", nmax, nmax), INF32 | NEG, OVF_INF),
        c32(bin32("sub.rz.f32", nmax, MAX32), nmax, OVF),
        c32(bin32("mul.rz.f32", MAX32, 0x4000_0000), MAX32, OVF),
        c32(bin32("mul.rp.f32", MAX32, 0xc000_0000), nmax, OVF),
        c32(bin32("div.rz.f32", MAX32, 0x3f00_0000), MAX32, OVF), // MAX / 0.5
        c32(bin32("div.rm.f32", MAX32, 0x3f00_0000), MAX32, OVF),
        c32(bin32("div.rp.f32", MAX32, 0x3f00_0000), INF32, OVF_INF),
        c32(bin32("div.rz.f32", MAX32, 0xbf00_0000), nmax, OVF),
        c32(fma32("fma.rz.f32", MAX32, 0x4000_0000, 0), MAX32, OVF),
        c32(
            fma32("fma.rm.f32", MAX32, 0xc000_0000, 0),
            INF32 | NEG,
            OVF_INF,
        ),
        // MAX plus half its ulp (2^103): rn ties to even, which is up, to infinity; rz keeps MAX
        c32(bin32("add.rz.f32", MAX32, 0x7300_0000), MAX32, OVF),
        c32(bin32("add.rp.f32", MAX32, 0x7300_0000), INF32, OVF_INF),
        c32(bin32("add.rp.f32", MAX32, 0x0000_0001), INF32, OVF_INF),
    ]);
}

#[test]
fn f32_tiny_results_round_to_the_neighbouring_subnormal() {
    let dmin = 0x0000_0001; // 2^-149
    check(&[
        // -2^-149 * 0.5 = -2^-150, exactly half of the smallest subnormal
        c32(
            bin32("mul.rm.f32", dmin | NEG, 0x3f00_0000),
            dmin | NEG,
            UNF,
        ),
        c32(bin32("mul.rz.f32", dmin | NEG, 0x3f00_0000), NEG, UNF),
        c32(bin32("mul.rp.f32", dmin | NEG, 0x3f00_0000), NEG, UNF),
        c32(
            bin32("mul.rn.f32", dmin | NEG, 0x3f00_0000),
            NEG,
            "§4.3.1 ties to even: -0",
        ),
        c32(bin32("mul.rp.f32", dmin, 0x3f00_0000), dmin, UNF),
        c32(bin32("mul.rm.f32", dmin, 0x3f00_0000), 0, UNF),
        // 2^-100 * 2^-100 = 2^-200, far below 2^-149
        c32(bin32("mul.rp.f32", 0x0d80_0000, 0x0d80_0000), dmin, UNF),
        c32(
            bin32("mul.rm.f32", 0x0d80_0000, 0x8d80_0000),
            dmin | NEG,
            UNF,
        ),
        c32(bin32("mul.rz.f32", 0x0d80_0000, 0x8d80_0000), NEG, UNF),
        // 3 * 2^-149 * 0.5 = 1.5 * 2^-149: rz/rm -> 1, rp -> 2 (a subnormal above the minimum)
        c32(bin32("mul.rz.f32", 3, 0x3f00_0000), 1, UNF),
        c32(bin32("mul.rp.f32", 3, 0x3f00_0000), 2, UNF),
        c32(bin32("mul.rm.f32", 3 | NEG, 0x3f00_0000), 2 | NEG, UNF),
        c32(
            bin32("div.rm.f32", dmin | NEG, 0x4000_0000),
            dmin | NEG,
            UNF,
        ),
        c32(bin32("div.rp.f32", dmin | NEG, 0x4000_0000), NEG, UNF),
        c32(bin32("div.rp.f32", dmin, 0x4040_0000), dmin, UNF), // 2^-149 / 3
        c32(
            fma32("fma.rm.f32", dmin | NEG, 0x3f00_0000, 0),
            dmin | NEG,
            UNF,
        ),
        c32(fma32("fma.rp.f32", dmin | NEG, 0x3f00_0000, 0), NEG, UNF),
        // 2^-126 * (1 - 2^-24) = 2^-126 - 2^-150: rz gives the largest subnormal
        c32(
            fma32("fma.rz.f32", 0x0080_0000, 0x3f7f_ffff, 0),
            0x007f_ffff,
            UNF,
        ),
        c32(
            fma32("fma.rp.f32", 0x0080_0000, 0x3f7f_ffff, 0),
            0x0080_0000,
            UNF,
        ),
    ]);
}

#[test]
fn f32_signed_zeros_and_single_rounding() {
    let one = 0x3f80_0000;
    check(&[
        c32(bin32("add.rm.f32", one, one | NEG), NEG, ZERO),
        c32(bin32("add.rz.f32", one, one | NEG), 0, ZERO),
        c32(bin32("add.rp.f32", one, one | NEG), 0, ZERO),
        c32(bin32("sub.rm.f32", one, one), NEG, ZERO),
        c32(bin32("sub.rp.f32", one, one), 0, ZERO),
        c32(
            bin32("add.rp.f32", NEG, NEG),
            NEG,
            "§6.3 x + x keeps the sign of x",
        ),
        c32(
            bin32("add.rm.f32", 0, 0),
            0,
            "§6.3 x + x keeps the sign of x",
        ),
        c32(fma32("fma.rm.f32", one, one, one | NEG), NEG, ZERO),
        c32(fma32("fma.rz.f32", one, one, one | NEG), 0, ZERO),
        c32(
            bin32("mul.rm.f32", 0, one | NEG),
            NEG,
            "§6.3 a product's sign is the xor of the signs",
        ),
        // (1 + 2^-23)^2 = 1 + 2^-22 + 2^-46: rz/rm drop 2^-46, rp rounds up one ulp
        c32(
            bin32("mul.rz.f32", 0x3f80_0001, 0x3f80_0001),
            0x3f80_0002,
            DIR,
        ),
        c32(
            bin32("mul.rp.f32", 0x3f80_0001, 0x3f80_0001),
            0x3f80_0003,
            DIR,
        ),
        c32(
            bin32("mul.rm.f32", 0xbf80_0001, 0x3f80_0001),
            0xbf80_0003,
            DIR,
        ),
        // fma keeps the 2^-46 that a separate mul would have dropped: exactly 2^-46
        c32(
            fma32("fma.rz.f32", 0x3f80_0001, 0x3f80_0001, 0xbf80_0002),
            0x2880_0000,
            FMA,
        ),
        c32(
            fma32("fma.rp.f32", 0x3f80_0001, 0x3f80_0001, 0xbf80_0002),
            0x2880_0000,
            FMA,
        ),
        // 1 + 2^-24 (half an ulp): rz/rm keep 1, rp gives 1 + 2^-23
        c32(bin32("add.rz.f32", one, 0x3380_0000), one, DIR),
        c32(bin32("add.rp.f32", one, 0x3380_0000), 0x3f80_0001, DIR),
        // 1 - 2^-25 lies between 1 - 2^-24 and 1
        c32(bin32("sub.rm.f32", one, 0x3300_0000), 0x3f7f_ffff, DIR),
        c32(bin32("sub.rz.f32", one, 0x3300_0000), 0x3f7f_ffff, DIR),
        c32(bin32("sub.rp.f32", one, 0x3300_0000), one, DIR),
        // 1/3 = 1.0101...b * 2^-2: truncation ends in ...1010, rn and rp in ...1011
        c32(bin32("div.rz.f32", one, 0x4040_0000), 0x3eaa_aaaa, DIR),
        c32(bin32("div.rm.f32", one, 0x4040_0000), 0x3eaa_aaaa, DIR),
        c32(bin32("div.rp.f32", one, 0x4040_0000), 0x3eaa_aaab, DIR),
        c32(
            bin32("div.rm.f32", one | NEG, 0x4040_0000),
            0xbeaa_aaab,
            DIR,
        ),
        c32(
            bin32("div.rz.f32", one | NEG, 0x4040_0000),
            0xbeaa_aaaa,
            DIR,
        ),
    ]);
}

/// The f32 mantissas just below and above sqrt(2), checked by exact squaring: m^2 < 2^47 < (m+1)^2
/// with m/2^23 the root of 2.
#[test]
fn sqrt_rounds_by_direction() {
    let (lo32, lo64) = (0x3504f3u64 | 1 << 23, 0x6a09e667f3bccu128 | 1 << 52);
    assert!(lo32 * lo32 < 2 << 46 && (lo32 + 1) * (lo32 + 1) > 2 << 46);
    assert!(lo64 * lo64 < 2 << 104 && (lo64 + 1) * (lo64 + 1) > 2 << 104);
    let lo64 = 0x3ff0_0000_0000_0000 | (lo64 as u64 & ((1 << 52) - 1));
    let two32 = 0x4000_0000;
    let two64 = 0x4000_0000_0000_0000;
    check(&[
        c32(un32("sqrt.rz.f32", two32), 0x3fb5_04f3, DIR),
        c32(un32("sqrt.rm.f32", two32), 0x3fb5_04f3, DIR),
        c32(un32("sqrt.rp.f32", two32), 0x3fb5_04f4, DIR),
        c32(
            un32("sqrt.rp.f32", 0x4080_0000),
            0x4000_0000,
            "§5.4.1 exact square roots are exact",
        ),
        c32(un32("sqrt.rm.f32", NEG), NEG, "§5.4.1 sqrt(-0) = -0"),
        c64(un64("sqrt.rz.f64", two64), lo64, DIR),
        c64(un64("sqrt.rm.f64", two64), lo64, DIR),
        c64(un64("sqrt.rp.f64", two64), lo64 + 1, DIR),
        // sqrt(2^-1074) = 2^-537 exactly
        c64(
            un64("sqrt.rp.f64", 1),
            0x1e60_0000_0000_0000,
            "§5.4.1 exact square roots are exact",
        ),
    ]);
}

#[test]
fn f64_overflow_underflow_and_zeros() {
    let (one, dmin) = (0x3ff0_0000_0000_0000u64, 1u64);
    let half = 0x3fe0_0000_0000_0000;
    let tiny = 0x1660_0000_0000_0000; // 2^-665; squared 2^-1330 is far below 2^-1074
    check(&[
        c64(bin64("add.rz.f64", MAX64, MAX64), MAX64, OVF),
        c64(bin64("add.rp.f64", MAX64, MAX64), INF64, OVF_INF),
        c64(
            bin64("add.rp.f64", MAX64 | NEG64, MAX64 | NEG64),
            MAX64 | NEG64,
            OVF,
        ),
        c64(
            bin64("mul.rz.f64", MAX64, 0x4000_0000_0000_0000),
            MAX64,
            OVF,
        ),
        c64(
            bin64("mul.rm.f64", MAX64, 0x4000_0000_0000_0000),
            MAX64,
            OVF,
        ),
        c64(bin64("div.rz.f64", MAX64, half), MAX64, OVF),
        c64(bin64("div.rp.f64", MAX64, half), INF64, OVF_INF),
        c64(
            fma64("fma.rz.f64", MAX64, 0x4000_0000_0000_0000, 0),
            MAX64,
            OVF,
        ),
        // the example: a tiny negative product rounded down is -denorm_min, not -0
        c64(bin64("mul.rm.f64", tiny | NEG64, tiny), dmin | NEG64, UNF),
        c64(bin64("mul.rz.f64", tiny | NEG64, tiny), NEG64, UNF),
        c64(bin64("mul.rp.f64", tiny | NEG64, tiny), NEG64, UNF),
        c64(bin64("mul.rp.f64", tiny, tiny), dmin, UNF),
        c64(bin64("mul.rm.f64", dmin | NEG64, half), dmin | NEG64, UNF),
        c64(bin64("mul.rz.f64", 3, half), 1, UNF),
        c64(bin64("mul.rp.f64", 3, half), 2, UNF),
        c64(bin64("mul.rn.f64", 3, half), 2, "§4.3.1 ties to even"),
        c64(
            fma64("fma.rm.f64", tiny | NEG64, tiny, 0),
            dmin | NEG64,
            UNF,
        ),
        c64(fma64("fma.rp.f64", tiny, tiny, 0), dmin, UNF),
        c64(
            bin64("div.rm.f64", dmin | NEG64, 0x4008_0000_0000_0000),
            dmin | NEG64,
            UNF,
        ),
        c64(
            bin64("div.rz.f64", dmin | NEG64, 0x4008_0000_0000_0000),
            NEG64,
            UNF,
        ),
        c64(bin64("add.rm.f64", one, one | NEG64), NEG64, ZERO),
        c64(bin64("add.rz.f64", one, one | NEG64), 0, ZERO),
        c64(bin64("sub.rm.f64", one, one), NEG64, ZERO),
        c64(fma64("fma.rm.f64", one, one, one | NEG64), NEG64, ZERO),
        // (1 + 2^-52)^2 = 1 + 2^-51 + 2^-104
        c64(bin64("mul.rz.f64", one + 1, one + 1), one + 2, DIR),
        c64(bin64("mul.rp.f64", one + 1, one + 1), one + 3, DIR),
        c64(
            fma64("fma.rz.f64", one + 1, one + 1, (one + 2) | NEG64),
            0x3970_0000_0000_0000,
            FMA,
        ), // 2^-104
        // 1/3 = 0x3fd5555555555555 + 1/3 ulp: rz/rm/rn keep it, rp rounds up
        c64(
            bin64("div.rz.f64", one, 0x4008_0000_0000_0000),
            0x3fd5_5555_5555_5555,
            DIR,
        ),
        c64(
            bin64("div.rp.f64", one, 0x4008_0000_0000_0000),
            0x3fd5_5555_5555_5556,
            DIR,
        ),
        c64(
            bin64("div.rm.f64", one | NEG64, 0x4008_0000_0000_0000),
            0xbfd5_5555_5555_5556,
            DIR,
        ),
        // 1 + 2^-53 (half an ulp)
        c64(
            bin64("add.rp.f64", one, 0x3ca0_0000_0000_0000),
            one + 1,
            DIR,
        ),
        c64(bin64("add.rz.f64", one, 0x3ca0_0000_0000_0000), one, DIR),
    ]);
}

#[test]
fn cvt_rounds_by_direction() {
    let cvt_f32_f64 = |op: &str, x: u64| format!("mov.b64 %fd1, 0d{x:016X};\n    {op} %f9, %fd1;");
    let cvt_from_int = |op: &str, x: i64, f64dst: bool| {
        let d = if f64dst { "%fd9" } else { "%f9" };
        format!("mov.b64 %rd1, {x};\n    {op} {d}, %rd1;")
    };
    let cvt_f16 = |op: &str, x: u32| format!("mov.b32 %f1, 0f{x:08X};\n    {op} %rs7, %f1;");
    let third = 0x3fd5_5555_5555_5555u64;
    let big = 0x4812_4f80_0000_0000u64; // about 1.5e39 > f32 MAX
    let small = 0x3400_0000_0000_0000u64; // 2^-191 < 2^-149
    check(&[
        c32(cvt_f32_f64("cvt.rz.f32.f64", third), 0x3eaa_aaaa, DIR),
        c32(cvt_f32_f64("cvt.rp.f32.f64", third), 0x3eaa_aaab, DIR),
        c32(
            cvt_f32_f64("cvt.rm.f32.f64", third | NEG64),
            0xbeaa_aaab,
            DIR,
        ),
        c32(cvt_f32_f64("cvt.rz.f32.f64", big), MAX32, OVF),
        c32(cvt_f32_f64("cvt.rm.f32.f64", big), MAX32, OVF),
        c32(cvt_f32_f64("cvt.rn.f32.f64", big), INF32, OVF_INF),
        c32(cvt_f32_f64("cvt.rp.f32.f64", big | NEG64), MAX32 | NEG, OVF),
        c32(
            cvt_f32_f64("cvt.rm.f32.f64", big | NEG64),
            INF32 | NEG,
            OVF_INF,
        ),
        c32(cvt_f32_f64("cvt.rm.f32.f64", small | NEG64), 1 | NEG, UNF),
        c32(cvt_f32_f64("cvt.rz.f32.f64", small | NEG64), NEG, UNF),
        c32(cvt_f32_f64("cvt.rp.f32.f64", small), 1, UNF),
        c32(cvt_f32_f64("cvt.rn.f32.f64", small), 0, UNF),
        // 2^32 - 1 needs 32 bits: rz/rm give 2^32 - 256 (0x4f7fffff), rn/rp 2^32
        c32(
            cvt_from_int("cvt.rz.f32.u64", 0xffff_ffff, false),
            0x4f7f_ffff,
            DIR,
        ),
        c32(
            cvt_from_int("cvt.rn.f32.u64", 0xffff_ffff, false),
            0x4f80_0000,
            DIR,
        ),
        // -(2^24 + 1): rm -> -(2^24 + 2), rz/rp -> -2^24
        c32(
            cvt_from_int("cvt.rm.f32.s64", -16_777_217, false),
            0xcb80_0001,
            DIR,
        ),
        c32(
            cvt_from_int("cvt.rp.f32.s64", -16_777_217, false),
            0xcb80_0000,
            DIR,
        ),
        c32(
            cvt_from_int("cvt.rz.f32.s64", -16_777_217, false),
            0xcb80_0000,
            DIR,
        ),
        // 2^63 - 1: rz -> 2^63 - 1024, rn -> 2^63
        c64(
            cvt_from_int("cvt.rz.f64.s64", i64::MAX, true),
            0x43df_ffff_ffff_ffff,
            DIR,
        ),
        c64(
            cvt_from_int("cvt.rn.f64.s64", i64::MAX, true),
            0x43e0_0000_0000_0000,
            DIR,
        ),
        c64(
            cvt_from_int("cvt.rm.f64.s64", -(1 << 53) - 1, true),
            0xc340_0000_0000_0001,
            DIR,
        ),
        c64(
            cvt_from_int("cvt.rp.f64.s64", -(1 << 53) - 1, true),
            0xc340_0000_0000_0000,
            DIR,
        ),
        // f16: 70000 > 65504 (0x7bff); -2^-27 is below the smallest f16 subnormal 2^-24
        (
            cvt_f16("cvt.rz.f16.f32", 0x4788_b800),
            Dst::F16,
            0x7bff,
            OVF,
        ),
        (
            cvt_f16("cvt.rn.f16.f32", 0x4788_b800),
            Dst::F16,
            0x7c00,
            OVF_INF,
        ),
        (
            cvt_f16("cvt.rm.f16.f32", 0x3200_0000 | NEG),
            Dst::F16,
            0x8001,
            UNF,
        ),
        (
            cvt_f16("cvt.rz.f16.f32", 0x3200_0000 | NEG),
            Dst::F16,
            0x8000,
            UNF,
        ),
        (
            cvt_f16("cvt.rp.f16.f32", 0x3200_0000),
            Dst::F16,
            0x0001,
            UNF,
        ),
    ]);
}
