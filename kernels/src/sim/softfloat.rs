//! Exact IEEE 754 arithmetic for the directed rounding modes (`.rz`, `.rm`, `.rp`, and `.rn`
//! where the hardware cannot give it, e.g. narrowing to f16).
//!
//! Each operation forms its exact result as an integer mantissa times a power of two (plus a
//! "sticky" flag when bits below the mantissa were dropped), then [`round`] rounds that once
//! into the target format. One rounding routine serves f16, f32 and f64, so overflow (to
//! infinity or to the largest finite value, IEEE 754 §7.4), gradual underflow to the
//! neighbouring subnormal, and the sign of exact zeros (§6.3) are handled in one place.
//! The functions return `None` for operands whose result is not a rounding question (NaN,
//! infinity, division by zero, square root of a negative): the caller uses the hardware result.

use super::ir::Rnd;

/// A binary floating-point format: precision `p` (with the hidden bit) and exponent range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fmt {
    p: u32,
    emin: i32,
    emax: i32,
    bits: u32,
}

pub const F16: Fmt = Fmt {
    p: 11,
    emin: -14,
    emax: 15,
    bits: 16,
};
pub const F32: Fmt = Fmt {
    p: 24,
    emin: -126,
    emax: 127,
    bits: 32,
};
pub const F64: Fmt = Fmt {
    p: 53,
    emin: -1022,
    emax: 1023,
    bits: 64,
};

/// An exact value `(m + d) * 2^e` with `0 < d < 1` when `sticky`, else `d = 0`.
#[derive(Clone, Copy, Debug)]
struct Exact {
    neg: bool,
    m: u128,
    e: i32,
    sticky: bool,
}

fn bitlen(m: u128) -> i32 {
    128 - m.leading_zeros() as i32
}

/// A finite f64 as an exact value (zero gives `m = 0`).
fn parts(x: f64) -> Exact {
    let b = x.to_bits();
    let (ex, frac) = ((b >> 52) & 0x7ff, b & ((1 << 52) - 1));
    let (m, e) = if ex == 0 {
        (frac, -1074)
    } else {
        (frac | 1 << 52, ex as i32 - 1075)
    };
    Exact {
        neg: b >> 63 != 0,
        m: m as u128,
        e,
        sticky: false,
    }
}

/// Shift `x` left so that its leading bit sits at bit `top` (x.m != 0, exact).
fn normalize(mut x: Exact, top: i32) -> Exact {
    let s = top - (bitlen(x.m) - 1);
    debug_assert!(s >= 0);
    x.m <<= s;
    x.e -= s;
    x
}

/// Round `x` into format `f` with mode `rnd`; returns the bit pattern.
fn round(x: Exact, f: Fmt, rnd: Rnd) -> u64 {
    let sign = (x.neg as u64) << (f.bits - 1);
    if x.m == 0 {
        return sign;
    }
    let p = f.p as i32;
    let lead = x.e + bitlen(x.m) - 1;
    // the quantum (weight of the last kept bit); subnormals share the one of the smallest normal
    let mut q = lead.max(f.emin) - (p - 1);
    let shift = q - x.e;
    let (mut r, half, rest) = if shift <= 0 {
        debug_assert!(!x.sticky, "sticky bits below a kept bit");
        (x.m << -shift, false, x.sticky)
    } else if shift > 128 {
        (0, false, true)
    } else if shift == 128 {
        (0, x.m >> 127 != 0, x.m << 1 != 0 || x.sticky)
    } else {
        let below = x.m & ((1u128 << (shift - 1)) - 1);
        (
            x.m >> shift,
            (x.m >> (shift - 1)) & 1 != 0,
            below != 0 || x.sticky,
        )
    };
    let inexact = half || rest;
    let up = match rnd {
        Rnd::Rn => half && (rest || r & 1 != 0),
        Rnd::Rz => false,
        Rnd::Rm => inexact && x.neg,
        Rnd::Rp => inexact && !x.neg,
    };
    if up {
        r += 1;
        if r == 1u128 << p {
            r >>= 1;
            q += 1;
        }
    }
    if r == 0 {
        return sign;
    }
    let frac_bits = f.bits - 1 - ebits(f);
    let bias = f.emax;
    let lead = q + bitlen(r) - 1;
    if lead > f.emax {
        // IEEE 754 §7.4: overflow gives infinity when rounding towards it (or to nearest),
        // else the largest finite value of the sign
        let to_inf = match rnd {
            Rnd::Rn => true,
            Rnd::Rz => false,
            Rnd::Rm => x.neg,
            Rnd::Rp => !x.neg,
        };
        let inf = ((1u64 << ebits(f)) - 1) << frac_bits;
        return sign | if to_inf { inf } else { inf - 1 };
    }
    if r < 1u128 << frac_bits {
        return sign | r as u64; // subnormal: q is the smallest normal's quantum
    }
    sign | ((lead + bias) as u64) << frac_bits | (r as u64 & ((1u64 << frac_bits) - 1))
}

fn ebits(f: Fmt) -> u32 {
    f.bits - f.p
}

/// IEEE 754 §6.3: an exact zero sum of operands of opposite signs is +0, except -0 when
/// rounding towards -infinity; x + x keeps the sign of x.
fn zero_sum(a_neg: bool, b_neg: bool, rnd: Rnd) -> Exact {
    Exact {
        neg: if a_neg == b_neg {
            a_neg
        } else {
            rnd == Rnd::Rm
        },
        m: 0,
        e: 0,
        sticky: false,
    }
}

/// The exact sum of two exact (non-sticky) values, mantissas of at most 107 bits; when the
/// exponents are far apart the smaller one's low bits fold into the sticky flag, which is
/// exact for rounding to at most 53 bits (the kept bits lie far above them).
fn sum(a: Exact, b: Exact, rnd: Rnd) -> Exact {
    match (a.m == 0, b.m == 0) {
        (true, true) => return zero_sum(a.neg, b.neg, rnd),
        (true, false) => return b,
        (false, true) => return a,
        _ => {}
    }
    let (a, b) = (normalize(a, 106), normalize(b, 106));
    let (big, small) = if (a.e, a.m) >= (b.e, b.m) {
        (a, b)
    } else {
        (b, a)
    };
    let sub = big.neg != small.neg;
    let d = big.e - small.e;
    const GUARD: i32 = 20; // big << 20 still fits in u128 (107 + 20 bits)
    let (m, e, sticky) = if d <= GUARD {
        let hi = big.m << d;
        (
            if sub { hi - small.m } else { hi + small.m },
            small.e,
            false,
        )
    } else {
        let sh = d - GUARD;
        let (kept, lost) = if sh >= 128 {
            (0, true)
        } else {
            (small.m >> sh, small.m & ((1u128 << sh) - 1) != 0)
        };
        let hi = big.m << GUARD;
        let m = if sub {
            hi - kept - lost as u128
        } else {
            hi + kept
        };
        (m, big.e - GUARD, lost)
    };
    if m == 0 && !sticky {
        return zero_sum(a.neg, b.neg, rnd);
    }
    Exact {
        neg: big.neg,
        m,
        e,
        sticky,
    }
}

fn product(a: f64, b: f64) -> Exact {
    let (x, y) = (parts(a), parts(b));
    Exact {
        neg: x.neg != y.neg,
        m: x.m * y.m,
        e: x.e + y.e,
        sticky: false,
    }
}

fn finite(xs: &[f64]) -> bool {
    xs.iter().all(|x| x.is_finite())
}

/// `a + b` rounded into `f` (inputs exactly representable in `f`).
pub fn add(a: f64, b: f64, f: Fmt, rnd: Rnd) -> Option<u64> {
    finite(&[a, b]).then(|| round(sum(parts(a), parts(b), rnd), f, rnd))
}

/// `a * b` rounded into `f`.
pub fn mul(a: f64, b: f64, f: Fmt, rnd: Rnd) -> Option<u64> {
    finite(&[a, b]).then(|| round(product(a, b), f, rnd))
}

/// `a * b + c` with a single rounding into `f`.
pub fn fma(a: f64, b: f64, c: f64, f: Fmt, rnd: Rnd) -> Option<u64> {
    finite(&[a, b, c]).then(|| round(sum(product(a, b), parts(c), rnd), f, rnd))
}

/// `a / b` rounded into `f`; `None` for b = 0.
pub fn div(a: f64, b: f64, f: Fmt, rnd: Rnd) -> Option<u64> {
    if !finite(&[a, b]) || b == 0.0 {
        return None;
    }
    let (x, y) = (parts(a), parts(b));
    let neg = x.neg != y.neg;
    if x.m == 0 {
        return Some(round(zero_sum(neg, neg, rnd), f, rnd));
    }
    let (x, y) = (normalize(x, 52), normalize(y, 52));
    // a 64- or 65-bit quotient: far more bits than any format keeps, remainder -> sticky
    let n = x.m << 64;
    Some(round(
        Exact {
            neg,
            m: n / y.m,
            e: x.e - y.e - 64,
            sticky: n % y.m != 0,
        },
        f,
        rnd,
    ))
}

/// `sqrt(a)` rounded into `f`; `None` for a < 0 (and NaN/inf).
pub fn sqrt(a: f64, f: Fmt, rnd: Rnd) -> Option<u64> {
    if !a.is_finite() || a < 0.0 {
        return None;
    }
    let x = parts(a);
    if x.m == 0 {
        return Some(round(x, f, rnd)); // sqrt(-0) = -0
    }
    let mut x = normalize(x, 52);
    if x.e % 2 != 0 {
        x.m <<= 1;
        x.e -= 1;
    }
    let n = x.m << 64; // at most 118 bits: a 59-bit root
    let s = isqrt(n);
    Some(round(
        Exact {
            neg: false,
            m: s,
            e: (x.e - 64) / 2,
            sticky: s * s != n,
        },
        f,
        rnd,
    ))
}

fn isqrt(n: u128) -> u128 {
    let mut s = (n as f64).sqrt() as u128;
    while s * s > n {
        s -= 1;
    }
    while (s + 1) * (s + 1) <= n {
        s += 1;
    }
    s
}

/// An integer rounded into `f` (`cvt.rX.f32.s64` and friends).
pub fn from_int(v: i128, f: Fmt, rnd: Rnd) -> u64 {
    round(
        Exact {
            neg: v < 0,
            m: v.unsigned_abs(),
            e: 0,
            sticky: false,
        },
        f,
        rnd,
    )
}

/// A finite f64 rounded into a narrower `f` (`cvt.rX.f32.f64`, `cvt.rX.f16.f32`).
pub fn narrow(x: f64, f: Fmt, rnd: Rnd) -> Option<u64> {
    x.is_finite().then(|| round(parts(x), f, rnd))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn round_corners() {
        // 1 + 2^-24 lies halfway between 1 and 1 + 2^-23 in f32
        let h = 2f64.powi(-24);
        assert_eq!(add(1.0, h, F32, Rnd::Rn), Some(1f32.to_bits() as u64));
        assert_eq!(
            add(1.0, h, F32, Rnd::Rp),
            Some((1.0f32 + f32::EPSILON).to_bits() as u64)
        );
        assert_eq!(add(1.0, -1.0, F64, Rnd::Rm), Some((-0.0f64).to_bits()));
        assert_eq!(add(1.0, -1.0, F64, Rnd::Rz), Some(0));
        assert_eq!(mul(f64::MAX, 2.0, F64, Rnd::Rz), Some(f64::MAX.to_bits()));
        assert_eq!(from_int(-1, F16, Rnd::Rn), 0xbc00);
        assert_eq!(sqrt(4.0, F64, Rnd::Rm), Some(2f64.to_bits()));
        assert_eq!(div(1.0, 3.0, F64, Rnd::Rn), Some((1.0f64 / 3.0).to_bits()));
    }
}
