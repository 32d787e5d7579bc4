//! Floating-point semantics: IEEE rounding modes (.rn/.rz/.rm/.rp) from exact error terms,
//! `.ftz`, `.sat`, PTX min/max and compare rules, approximate functions, and `cvt`.

use super::alu::as_i128;
use super::ir::{BinOp, Cmp, FFlags, Rnd, TernOp, Ty, UnOp};
use super::softfloat::{self as soft, F16, F32, F64};

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

/// Directed rounding (and `.rn` where the hardware rounding does not apply) goes through the
/// exact [`soft`] arithmetic; `.rn` on f32/f64 is the host's IEEE arithmetic.
#[inline]
fn with32(rnd: Rnd, rn: impl FnOnce() -> f32, exact: impl FnOnce() -> Option<u64>) -> f32 {
    if rnd == Rnd::Rn {
        return rn();
    }
    exact().map_or_else(rn, |b| f32::from_bits(b as u32))
}
#[inline]
fn with64(rnd: Rnd, rn: impl FnOnce() -> f64, exact: impl FnOnce() -> Option<u64>) -> f64 {
    if rnd == Rnd::Rn {
        return rn();
    }
    exact().map_or_else(rn, f64::from_bits)
}

pub fn add32(a: f32, b: f32, rnd: Rnd) -> f32 {
    with32(rnd, || a + b, || soft::add(a as f64, b as f64, F32, rnd))
}
pub fn mul32(a: f32, b: f32, rnd: Rnd) -> f32 {
    with32(rnd, || a * b, || soft::mul(a as f64, b as f64, F32, rnd))
}
pub fn fma32(a: f32, b: f32, c: f32, rnd: Rnd) -> f32 {
    with32(
        rnd,
        || a.mul_add(b, c),
        || soft::fma(a as f64, b as f64, c as f64, F32, rnd),
    )
}
pub fn div32(a: f32, b: f32, rnd: Rnd) -> f32 {
    with32(rnd, || a / b, || soft::div(a as f64, b as f64, F32, rnd))
}
pub fn sqrt32(a: f32, rnd: Rnd) -> f32 {
    with32(rnd, || a.sqrt(), || soft::sqrt(a as f64, F32, rnd))
}
pub fn add64(a: f64, b: f64, rnd: Rnd) -> f64 {
    with64(rnd, || a + b, || soft::add(a, b, F64, rnd))
}
pub fn mul64(a: f64, b: f64, rnd: Rnd) -> f64 {
    with64(rnd, || a * b, || soft::mul(a, b, F64, rnd))
}
pub fn fma64(a: f64, b: f64, c: f64, rnd: Rnd) -> f64 {
    with64(rnd, || a.mul_add(b, c), || soft::fma(a, b, c, F64, rnd))
}
pub fn div64(a: f64, b: f64, rnd: Rnd) -> f64 {
    with64(rnd, || a / b, || soft::div(a, b, F64, rnd))
}
pub fn sqrt64(a: f64, rnd: Rnd) -> f64 {
    with64(rnd, || a.sqrt(), || soft::sqrt(a, F64, rnd))
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
    if x.is_nan() {
        return 0x7e00;
    }
    soft::narrow(x, F16, rnd).unwrap_or(if x < 0.0 { 0xfc00 } else { 0x7c00 }) as u16
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
    with32(rnd, || x as f32, || soft::narrow(x, F32, rnd))
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
            Ty::F64 => out64(f64::from_bits(soft::from_int(v, F64, fl.rnd)), fl),
            Ty::F32 => out32(f32::from_bits(soft::from_int(v, F32, fl.rnd) as u32), fl),
            _ => soft::from_int(v, F16, fl.rnd),
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
