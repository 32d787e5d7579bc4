//! Floating-point semantics: IEEE rounding modes (.rn/.rz/.rm/.rp) from exact error terms,
//! `.ftz`, `.sat`, PTX min/max and compare rules, approximate functions, and `cvt`.

use super::alu::as_i128;
use super::ir::{BinOp, Cmp, FFlags, Rnd, TernOp, Ty, UnOp};
use std::cmp::Ordering;

const NAN32: u32 = 0x7fff_ffff;
const NAN64: u64 = 0x7fff_ffff_ffff_ffff;

#[inline(always)]
pub fn ftz32(x: f32) -> f32 {
    if x.is_subnormal() {
        f32::from_bits(x.to_bits() & 0x8000_0000)
    } else {
        x
    }
}

#[inline(always)]
fn sat32(x: f32) -> f32 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(0.0, 1.0)
    }
}
#[inline(always)]
fn sat64(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(0.0, 1.0)
    }
}

pub fn next_up32(x: f32) -> f32 {
    if x.is_nan() || x == f32::INFINITY {
        return x;
    }
    if x == 0.0 {
        return f32::from_bits(1);
    }
    let b = x.to_bits();
    f32::from_bits(if x > 0.0 { b + 1 } else { b - 1 })
}
pub fn next_down32(x: f32) -> f32 {
    -next_up32(-x)
}
pub fn next_up64(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == 0.0 {
        return f64::from_bits(1);
    }
    let b = x.to_bits();
    f64::from_bits(if x > 0.0 { b + 1 } else { b - 1 })
}
pub fn next_down64(x: f64) -> f64 {
    -next_up64(-x)
}

/// Adjust a round-to-nearest result `r` for mode `rnd`, given `dir` = sign of (exact - r).
#[inline]
fn adjust32(r: f32, dir: Option<Ordering>, rnd: Rnd) -> f32 {
    match (rnd, dir) {
        (Rnd::Rn, _) | (_, None) | (_, Some(Ordering::Equal)) => r,
        (Rnd::Rz, Some(Ordering::Less)) if r > 0.0 => next_down32(r),
        (Rnd::Rz, Some(Ordering::Greater)) if r < 0.0 => next_up32(r),
        (Rnd::Rm, Some(Ordering::Less)) => next_down32(r),
        (Rnd::Rp, Some(Ordering::Greater)) => next_up32(r),
        _ => r,
    }
}
#[inline]
fn adjust64(r: f64, dir: Option<Ordering>, rnd: Rnd) -> f64 {
    match (rnd, dir) {
        (Rnd::Rn, _) | (_, None) | (_, Some(Ordering::Equal)) => r,
        (Rnd::Rz, Some(Ordering::Less)) if r > 0.0 => next_down64(r),
        (Rnd::Rz, Some(Ordering::Greater)) if r < 0.0 => next_up64(r),
        (Rnd::Rm, Some(Ordering::Less)) => next_down64(r),
        (Rnd::Rp, Some(Ordering::Greater)) => next_up64(r),
        _ => r,
    }
}

/// Error-free sum: s + e == a + b exactly.
#[inline]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    let e = (a - (s - bb)) + (b - bb);
    (s, e)
}

/// Direction of exact (= s + e) relative to an f32 result r.
#[inline]
fn dir32(s: f64, e: f64, r: f32) -> Option<Ordering> {
    if !s.is_finite() {
        return None;
    }
    ((s - r as f64) + e).partial_cmp(&0.0)
}

pub fn add32(a: f32, b: f32, rnd: Rnd) -> f32 {
    let r = a + b;
    if rnd == Rnd::Rn {
        return r;
    }
    let (s, e) = two_sum(a as f64, b as f64);
    let r = adjust32(r, dir32(s, e, r), rnd);
    if r == 0.0 && s == 0.0 && e == 0.0 && rnd == Rnd::Rm && (a.to_bits() ^ b.to_bits()) >> 31 != 0
    {
        return -0.0; // x + (-x) is -0 when rounding down
    }
    r
}
pub fn mul32(a: f32, b: f32, rnd: Rnd) -> f32 {
    let r = a * b;
    if rnd == Rnd::Rn {
        return r;
    }
    adjust32(r, dir32(a as f64 * b as f64, 0.0, r), rnd)
}
pub fn fma32(a: f32, b: f32, c: f32, rnd: Rnd) -> f32 {
    let r = a.mul_add(b, c);
    if rnd == Rnd::Rn {
        return r;
    }
    let (s, e) = two_sum(a as f64 * b as f64, c as f64);
    adjust32(r, dir32(s, e, r), rnd)
}
pub fn div32(a: f32, b: f32, rnd: Rnd) -> f32 {
    let r = a / b;
    if rnd == Rnd::Rn || !r.is_finite() || !b.is_finite() || b == 0.0 {
        return r;
    }
    let res = a as f64 - r as f64 * b as f64; // exact: product has 48 bits, Sterbenz for the difference
    let d = res
        .partial_cmp(&0.0)
        .map(|o| if b < 0.0 { o.reverse() } else { o });
    adjust32(r, d, rnd)
}
pub fn sqrt32(a: f32, rnd: Rnd) -> f32 {
    let r = a.sqrt();
    if rnd == Rnd::Rn || !r.is_finite() || r == 0.0 {
        return r;
    }
    adjust32(r, (a as f64 - r as f64 * r as f64).partial_cmp(&0.0), rnd)
}

pub fn add64(a: f64, b: f64, rnd: Rnd) -> f64 {
    let (s, e) = two_sum(a, b);
    if rnd == Rnd::Rn || !s.is_finite() {
        return if s.is_finite() || rnd == Rnd::Rn {
            s
        } else {
            overflow64(s, a.is_finite() && b.is_finite(), rnd)
        };
    }
    let r = adjust64(s, e.partial_cmp(&0.0), rnd);
    if r == 0.0 && e == 0.0 && rnd == Rnd::Rm && (a.to_bits() ^ b.to_bits()) >> 63 != 0 {
        return -0.0;
    }
    r
}
fn overflow64(r: f64, finite_inputs: bool, rnd: Rnd) -> f64 {
    if !r.is_infinite() || !finite_inputs {
        return r;
    }
    let d = if r > 0.0 {
        Ordering::Less
    } else {
        Ordering::Greater
    };
    adjust64(r, Some(d), rnd)
}
pub fn mul64(a: f64, b: f64, rnd: Rnd) -> f64 {
    let r = a * b;
    if rnd == Rnd::Rn {
        return r;
    }
    if !r.is_finite() {
        return overflow64(r, a.is_finite() && b.is_finite(), rnd);
    }
    adjust64(r, a.mul_add(b, -r).partial_cmp(&0.0), rnd)
}
pub fn fma64(a: f64, b: f64, c: f64, rnd: Rnd) -> f64 {
    let r = a.mul_add(b, c);
    if rnd == Rnd::Rn {
        return r;
    }
    if !r.is_finite() {
        return overflow64(r, a.is_finite() && b.is_finite() && c.is_finite(), rnd);
    }
    let p = a * b;
    let pe = a.mul_add(b, -p);
    let (s, e) = two_sum(p, c);
    adjust64(r, (((s - r) + e) + pe).partial_cmp(&0.0), rnd)
}
pub fn div64(a: f64, b: f64, rnd: Rnd) -> f64 {
    let r = a / b;
    if rnd == Rnd::Rn || !b.is_finite() || b == 0.0 {
        return r;
    }
    if !r.is_finite() {
        return overflow64(r, a.is_finite(), rnd);
    }
    let res = (-r).mul_add(b, a);
    let d = res
        .partial_cmp(&0.0)
        .map(|o| if b < 0.0 { o.reverse() } else { o });
    adjust64(r, d, rnd)
}
pub fn sqrt64(a: f64, rnd: Rnd) -> f64 {
    let r = a.sqrt();
    if rnd == Rnd::Rn || !r.is_finite() || r == 0.0 {
        return r;
    }
    adjust64(r, (-r).mul_add(r, a).partial_cmp(&0.0), rnd)
}

/// PTX min/max: a NaN operand yields the other; +0 > -0.
#[inline]
pub fn fminmax64(a: f64, b: f64, max: bool) -> f64 {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => f64::NAN,
        (true, false) => b,
        (false, true) => a,
        _ => {
            if a == b {
                // equal (maybe +0 / -0)
                let neg = if max {
                    a.is_sign_negative() && b.is_sign_negative()
                } else {
                    a.is_sign_negative() || b.is_sign_negative()
                };
                if neg {
                    -a.abs()
                } else {
                    a.abs()
                }
            } else if (a < b) != max {
                a
            } else {
                b
            }
        }
    }
}

/// Float comparison for `setp` (ordered compares false with NaN; `u` forms true).
#[inline]
pub fn fcmp(cmp: Cmp, a: f64, b: f64) -> bool {
    let u = a.is_nan() || b.is_nan();
    match cmp {
        Cmp::Eq => !u && a == b,
        Cmp::Ne => !u && a != b,
        Cmp::Lt | Cmp::Lo => !u && a < b,
        Cmp::Le | Cmp::Ls => !u && a <= b,
        Cmp::Gt | Cmp::Hi => !u && a > b,
        Cmp::Ge | Cmp::Hs => !u && a >= b,
        Cmp::Equ => u || a == b,
        Cmp::Neu => u || a != b,
        Cmp::Ltu => u || a < b,
        Cmp::Leu => u || a <= b,
        Cmp::Gtu => u || a > b,
        Cmp::Geu => u || a >= b,
        Cmp::Num => !u,
        Cmp::Nan => u,
    }
}

/// Read a float register of type `ty` as f64 (f32 flushed when `ftz`).
#[inline(always)]
pub fn fval(v: u64, ty: Ty, ftz: bool) -> f64 {
    match ty {
        Ty::F32 => {
            let x = f32::from_bits(v as u32);
            (if ftz { ftz32(x) } else { x }) as f64
        }
        Ty::F16 => f16_to_f32(v as u16) as f64,
        _ => f64::from_bits(v),
    }
}

#[inline(always)]
fn out32(x: f32, fl: FFlags) -> u64 {
    let x = if fl.ftz { ftz32(x) } else { x };
    let x = if fl.sat { sat32(x) } else { x };
    (if x.is_nan() { NAN32 } else { x.to_bits() }) as u64
}
#[inline(always)]
fn out64(x: f64, fl: FFlags) -> u64 {
    let x = if fl.sat { sat64(x) } else { x };
    if x.is_nan() {
        NAN64
    } else {
        x.to_bits()
    }
}

#[inline]
pub fn float_bin(op: BinOp, ty: Ty, fl: FFlags, a: u64, b: u64) -> u64 {
    if ty == Ty::F32 {
        let f = |v: u64| {
            let x = f32::from_bits(v as u32);
            if fl.ftz {
                ftz32(x)
            } else {
                x
            }
        };
        let (x, y) = (f(a), f(b));
        let r = match op {
            BinOp::Add => add32(x, y, fl.rnd),
            BinOp::Sub => add32(x, -y, fl.rnd),
            BinOp::MulLo => mul32(x, y, fl.rnd),
            BinOp::Div => div32(x, y, if fl.approx { Rnd::Rn } else { fl.rnd }),
            BinOp::Min => fminmax64(x as f64, y as f64, false) as f32,
            BinOp::Max => fminmax64(x as f64, y as f64, true) as f32,
            BinOp::Copysign => y.copysign(x),
            _ => f32::NAN,
        };
        out32(r, fl)
    } else {
        let (x, y) = (f64::from_bits(a), f64::from_bits(b));
        let r = match op {
            BinOp::Add => add64(x, y, fl.rnd),
            BinOp::Sub => add64(x, -y, fl.rnd),
            BinOp::MulLo => mul64(x, y, fl.rnd),
            BinOp::Div => div64(x, y, fl.rnd),
            BinOp::Min => fminmax64(x, y, false),
            BinOp::Max => fminmax64(x, y, true),
            BinOp::Copysign => y.copysign(x),
            _ => f64::NAN,
        };
        out64(r, fl)
    }
}

#[inline]
pub fn float_fma(ty: Ty, fl: FFlags, a: u64, b: u64, c: u64) -> u64 {
    if ty == Ty::F32 {
        let f = |v: u64| {
            let x = f32::from_bits(v as u32);
            if fl.ftz {
                ftz32(x)
            } else {
                x
            }
        };
        out32(fma32(f(a), f(b), f(c), fl.rnd), fl)
    } else {
        out64(
            fma64(
                f64::from_bits(a),
                f64::from_bits(b),
                f64::from_bits(c),
                fl.rnd,
            ),
            fl,
        )
    }
}

/// `slct.T.f32`: c >= 0 ? a : b.
#[inline]
pub fn slct_f32(fl: FFlags, a: u64, b: u64, c: u64) -> u64 {
    let x = f32::from_bits(c as u32);
    let x = if fl.ftz { ftz32(x) } else { x };
    if x >= 0.0 {
        a
    } else {
        b
    }
}

#[inline]
pub fn float_un(op: UnOp, ty: Ty, fl: FFlags, a: u64) -> u64 {
    if ty == Ty::F32 {
        let x = f32::from_bits(a as u32);
        let x = if fl.ftz { ftz32(x) } else { x };
        let r = match op {
            UnOp::Abs => x.abs(),
            UnOp::Neg => -x,
            UnOp::Rcp if fl.approx => 1.0 / x,
            UnOp::Rcp => div32(1.0, x, fl.rnd),
            UnOp::Sqrt if fl.approx => x.sqrt(),
            UnOp::Sqrt => sqrt32(x, fl.rnd),
            UnOp::Rsqrt => 1.0 / x.sqrt(),
            UnOp::Ex2 => (x as f64).exp2() as f32,
            UnOp::Lg2 => (x as f64).log2() as f32,
            UnOp::Sin => (x as f64).sin() as f32,
            UnOp::Cos => (x as f64).cos() as f32,
            UnOp::Tanh => (x as f64).tanh() as f32,
            _ => return testp(op, x as f64, x.is_subnormal()),
        };
        out32(r, fl)
    } else {
        let x = f64::from_bits(a);
        let r = match op {
            UnOp::Abs => return a & !(1 << 63),
            UnOp::Neg => return a ^ (1 << 63),
            UnOp::Rcp if fl.approx => 1.0 / x,
            UnOp::Rcp => div64(1.0, x, fl.rnd),
            UnOp::Sqrt => sqrt64(x, fl.rnd),
            UnOp::Rsqrt => 1.0 / x.sqrt(),
            UnOp::Ex2 => x.exp2(),
            UnOp::Lg2 => x.log2(),
            UnOp::Sin => x.sin(),
            UnOp::Cos => x.cos(),
            UnOp::Tanh => x.tanh(),
            _ => return testp(op, x, x.is_subnormal()),
        };
        out64(r, fl)
    }
}

fn testp(op: UnOp, x: f64, sub: bool) -> u64 {
    (match op {
        UnOp::TestFinite => x.is_finite(),
        UnOp::TestInfinite => x.is_infinite(),
        UnOp::TestNumber => !x.is_nan(),
        UnOp::TestNotANumber => x.is_nan(),
        UnOp::TestNormal => x.is_finite() && x != 0.0 && !sub,
        UnOp::TestSubnormal => sub,
        _ => false,
    }) as u64
}

pub fn float_tern(op: TernOp, ty: Ty, fl: FFlags, a: u64, b: u64, c: u64) -> u64 {
    match op {
        TernOp::Fma => float_fma(ty, fl, a, b, c),
        TernOp::SlctF32 => slct_f32(fl, a, b, c),
        _ => 0,
    }
}

// ---- f16 ----

pub fn f16_to_f32(h: u16) -> f32 {
    let s = ((h >> 15) as u32) << 31;
    let e = ((h >> 10) & 0x1f) as i32;
    let m = (h & 0x3ff) as u32;
    let v = if e == 0 {
        (m as f32) * (2.0f32).powi(-24)
    } else if e == 31 {
        if m == 0 {
            f32::INFINITY
        } else {
            return f32::from_bits(s | 0x7fc0_0000 | (m << 13));
        }
    } else {
        f32::from_bits(((e + 112) as u32) << 23 | (m << 13))
    };
    f32::from_bits(v.to_bits() | s)
}

/// Round an f64 to f16 with the given mode.
pub fn f64_to_f16(x: f64, rnd: Rnd) -> u16 {
    let sign: u16 = if x.is_sign_negative() { 0x8000 } else { 0 };
    if x.is_nan() {
        return 0x7e00;
    }
    let ax = x.abs();
    if ax.is_infinite() {
        return sign | 0x7c00;
    }
    let e = if ax == 0.0 {
        -30
    } else {
        ((ax.to_bits() >> 52) as i32) - 1023
    };
    let q = if e < -14 {
        (2.0f64).powi(-24)
    } else {
        (2.0f64).powi(e - 10)
    };
    let m = ax / q; // exact (power-of-two scaling)
    let neg = sign != 0;
    let mr = match rnd {
        Rnd::Rn => m.round_ties_even(),
        Rnd::Rz => m.trunc(),
        Rnd::Rm => {
            if neg {
                m.ceil()
            } else {
                m.floor()
            }
        }
        Rnd::Rp => {
            if neg {
                m.floor()
            } else {
                m.ceil()
            }
        }
    };
    let v = mr * q;
    if v > 65504.0 {
        let to_inf = match rnd {
            Rnd::Rn => true,
            Rnd::Rz => false,
            Rnd::Rm => neg,
            Rnd::Rp => !neg,
        };
        return sign | if to_inf { 0x7c00 } else { 0x7bff };
    }
    if v < (2.0f64).powi(-14) {
        return sign | (v / (2.0f64).powi(-24)) as u16;
    }
    let ve = ((v.to_bits() >> 52) as i32) - 1023;
    let mant = (v / (2.0f64).powi(ve - 10)) as u32 - 1024;
    sign | (((ve + 15) as u16) << 10) | mant as u16
}

fn round_int(x: f64, rnd: Rnd) -> f64 {
    match rnd {
        Rnd::Rn => x.round_ties_even(),
        Rnd::Rz => x.trunc(),
        Rnd::Rm => x.floor(),
        Rnd::Rp => x.ceil(),
    }
}

/// f64 -> f32 with rounding mode.
pub fn f64_to_f32(x: f64, rnd: Rnd) -> f32 {
    let r = x as f32;
    if rnd == Rnd::Rn || x.is_nan() || x.is_infinite() {
        return r;
    }
    adjust32(r, x.partial_cmp(&(r as f64)), rnd)
}

/// `cvt.frnd/irnd.dty.sty`.
pub fn cvt(dty: Ty, sty: Ty, fl: FFlags, int_rnd: bool, a: u64) -> u64 {
    if dty.is_int() && sty.is_int() {
        let v = as_i128(a, sty);
        let v = if fl.sat {
            let (lo, hi) = int_range(dty);
            v.clamp(lo, hi)
        } else {
            v
        };
        return (v as u64) & dty.mask();
    }
    if dty.is_int() {
        // float -> int: round, saturate, NaN -> 0
        let x = fval(a, sty, fl.ftz && sty == Ty::F32);
        if x.is_nan() {
            return 0;
        }
        let r = round_int(x, fl.rnd);
        let (lo, hi) = int_range(dty);
        let v = if r <= lo as f64 {
            lo
        } else if r >= hi as f64 {
            hi
        } else {
            r as i128
        };
        return (v as u64) & dty.mask();
    }
    if sty.is_int() {
        let v = as_i128(a, sty);
        return match dty {
            Ty::F64 => {
                let r = v as f64;
                let d = if r.abs() >= 1.7e38 {
                    None
                } else {
                    Some(v.cmp(&(r as i128)))
                };
                out64(adjust64(r, d, fl.rnd), fl)
            }
            Ty::F32 => {
                let r = v as f32;
                let d = if r.abs() >= 1.7e38 {
                    None
                } else {
                    Some(v.cmp(&(r as i128)))
                };
                out32(adjust32(r, d, fl.rnd), fl)
            }
            _ => f64_to_f16(v as f64, fl.rnd) as u64,
        };
    }
    // float -> float
    let x = fval(a, sty, fl.ftz && sty == Ty::F32);
    let x = if int_rnd { round_int(x, fl.rnd) } else { x };
    match dty {
        Ty::F64 => out64(x, fl),
        Ty::F32 => {
            let r = if sty == Ty::F64 && !int_rnd {
                f64_to_f32(x, fl.rnd)
            } else {
                x as f32
            };
            out32(r, fl)
        }
        _ => {
            let x = if fl.sat { sat64(x) } else { x };
            f64_to_f16(x, if int_rnd { Rnd::Rn } else { fl.rnd }) as u64
        }
    }
}

fn int_range(t: Ty) -> (i128, i128) {
    let b = t.bits();
    if t.is_signed() {
        (-(1i128 << (b - 1)), (1i128 << (b - 1)) - 1)
    } else {
        (0, (1i128 << b) - 1)
    }
}
