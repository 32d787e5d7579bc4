//! Integer and bitwise semantics on 64-bit register slots (results masked to the type).
//!
//! Corner cases (PTX leaves some unspecified; none of them traps here):
//! - `div` by zero: all ones (`u32::MAX` for `.u32`, -1 for `.s32`); `rem` by zero: the dividend;
//! - `INT_MIN / -1` = `INT_MIN`, `INT_MIN % -1` = 0 (wrapping);
//! - shift amounts >= width: `shl`/`shr.u`/`shr.b` give 0, `shr.s` fills with the sign bit.

use super::ir::{BinOp, Cmp, TernOp, Ty, UnOp};

/// Sign-extend the low `bits` of `v`.
#[inline(always)]
pub fn sext(v: u64, bits: u32) -> i64 {
    if bits >= 64 {
        v as i64
    } else {
        let s = 64 - bits;
        ((v << s) as i64) >> s
    }
}

/// The value of `v` read as type `ty` (sign- or zero-extended) as i128.
#[inline(always)]
pub fn as_i128(v: u64, ty: Ty) -> i128 {
    if ty.is_signed() {
        sext(v, ty.bits()) as i128
    } else {
        (v & ty.mask()) as i128
    }
}

#[inline(always)]
fn wide_mask(ty: Ty) -> u64 {
    match ty.bits() {
        8 => 0xffff,
        16 => 0xffff_ffff,
        _ => u64::MAX,
    }
}

#[inline]
pub fn int_bin(op: BinOp, ty: Ty, a: u64, b: u64) -> u64 {
    let bits = ty.bits();
    let m = ty.mask();
    let s = ty.is_signed();
    match op {
        BinOp::Add => a.wrapping_add(b) & m,
        BinOp::Sub => a.wrapping_sub(b) & m,
        BinOp::AddSat => {
            (sext(a, 32)
                .saturating_add(sext(b, 32))
                .clamp(i32::MIN as i64, i32::MAX as i64) as u64)
                & m
        }
        BinOp::SubSat => {
            (sext(a, 32)
                .saturating_sub(sext(b, 32))
                .clamp(i32::MIN as i64, i32::MAX as i64) as u64)
                & m
        }
        BinOp::MulLo => a.wrapping_mul(b) & m,
        BinOp::MulHi => {
            let p = as_i128(a, ty).wrapping_mul(as_i128(b, ty));
            ((p >> bits) as u64) & m
        }
        BinOp::MulWide => (as_i128(a, ty).wrapping_mul(as_i128(b, ty)) as u64) & wide_mask(ty),
        BinOp::Mul24Lo | BinOp::Mul24Hi => {
            let (x, y) = if s {
                (sext(a, 24) as i128, sext(b, 24) as i128)
            } else {
                ((a & 0xff_ffff) as i128, (b & 0xff_ffff) as i128)
            };
            let p = x * y;
            if op == BinOp::Mul24Lo {
                (p as u64) & m
            } else {
                ((p >> 16) as u64) & m
            }
        }
        BinOp::Div => {
            if s {
                let (x, y) = (sext(a, bits), sext(b, bits));
                if y == 0 {
                    m
                } else {
                    (x.wrapping_div(y) as u64) & m
                }
            } else {
                let (x, y) = (a & m, b & m);
                if y == 0 {
                    m
                } else {
                    x / y
                }
            }
        }
        BinOp::Rem => {
            if s {
                let (x, y) = (sext(a, bits), sext(b, bits));
                if y == 0 {
                    a & m
                } else {
                    (x.wrapping_rem(y) as u64) & m
                }
            } else {
                let (x, y) = (a & m, b & m);
                if y == 0 {
                    x
                } else {
                    x % y
                }
            }
        }
        BinOp::Min | BinOp::Max => {
            let less = if s {
                sext(a, bits) < sext(b, bits)
            } else {
                (a & m) < (b & m)
            };
            let pick_a = if op == BinOp::Min { less } else { !less };
            (if pick_a { a } else { b }) & m
        }
        BinOp::And => a & b & m,
        BinOp::Or => (a | b) & m,
        BinOp::Xor => (a ^ b) & m,
        BinOp::Shl => {
            let n = b & 0xffff_ffff;
            if n >= bits as u64 {
                0
            } else {
                (a << n) & m
            }
        }
        BinOp::Shr => {
            let n = b & 0xffff_ffff;
            if s {
                ((sext(a, bits) >> n.min(bits as u64 - 1)) as u64) & m
            } else if n >= bits as u64 {
                0
            } else {
                (a & m) >> n
            }
        }
        BinOp::Copysign => a,
    }
}

#[inline]
pub fn int_un(op: UnOp, ty: Ty, a: u64) -> u64 {
    let bits = ty.bits();
    let m = ty.mask();
    match op {
        UnOp::Abs => (sext(a, bits).wrapping_abs() as u64) & m,
        UnOp::Neg => a.wrapping_neg() & m,
        UnOp::Not => !a & m,
        UnOp::Cnot => ((a & m) == 0) as u64,
        UnOp::Popc => (a & m).count_ones() as u64,
        UnOp::Clz => ((a & m).leading_zeros() - (64 - bits)) as u64,
        UnOp::Brev => ((a & m).reverse_bits() >> (64 - bits)) & m,
        UnOp::Bfind | UnOp::BfindShift => {
            let v = if ty.is_signed() && sext(a, bits) < 0 {
                !a & m
            } else {
                a & m
            };
            if v == 0 {
                0xffff_ffff
            } else {
                let idx = 63 - v.leading_zeros() as u64;
                if op == UnOp::BfindShift {
                    bits as u64 - 1 - idx
                } else {
                    idx
                }
            }
        }
        _ => 0,
    }
}

#[inline]
pub fn int_tern(op: TernOp, ty: Ty, a: u64, b: u64, c: u64) -> u64 {
    let bits = ty.bits();
    let m = ty.mask();
    match op {
        TernOp::MadLo => a.wrapping_mul(b).wrapping_add(c) & m,
        TernOp::MadHi => int_bin(BinOp::MulHi, ty, a, b).wrapping_add(c) & m,
        TernOp::MadHiSat => {
            let h = sext(int_bin(BinOp::MulHi, ty, a, b), 32) + sext(c, 32);
            (h.clamp(i32::MIN as i64, i32::MAX as i64) as u64) & m
        }
        TernOp::MadWide => int_bin(BinOp::MulWide, ty, a, b).wrapping_add(c) & wide_mask(ty),
        TernOp::Mad24Lo => int_bin(BinOp::Mul24Lo, ty, a, b).wrapping_add(c) & m,
        TernOp::Sad => {
            let d = if ty.is_signed() {
                (sext(a, bits) - sext(b, bits)).unsigned_abs()
            } else {
                (a & m).abs_diff(b & m)
            };
            d.wrapping_add(c) & m
        }
        TernOp::Bfe => {
            let pos = (b & 0xff) as u32;
            let len = (c & 0xff) as u32;
            let msb = bits - 1;
            let sbit = if ty.is_signed() && len > 0 {
                (a >> (pos + len - 1).min(msb)) & 1
            } else {
                0
            };
            let mut r = 0u64;
            for i in 0..bits {
                let bit = if i < len && pos + i <= msb {
                    (a >> (pos + i)) & 1
                } else {
                    sbit
                };
                r |= bit << i;
            }
            r & m
        }
        TernOp::Prmt => {
            let x = (a & 0xffff_ffff) | ((b & 0xffff_ffff) << 32);
            let mut r = 0u64;
            for i in 0..4 {
                let sel = (c >> (4 * i)) & 0xf;
                let byte = (x >> (8 * (sel & 7))) & 0xff;
                let v = if sel & 8 != 0 {
                    if byte & 0x80 != 0 {
                        0xff
                    } else {
                        0
                    }
                } else {
                    byte
                };
                r |= v << (8 * i);
            }
            r
        }
        TernOp::Selp => {
            if c & 1 != 0 {
                a
            } else {
                b
            }
        }
        TernOp::SlctS32 => {
            if sext(c, 32) >= 0 {
                a
            } else {
                b
            }
        }
        TernOp::ShfLWrap | TernOp::ShfLClamp | TernOp::ShfRWrap | TernOp::ShfRClamp => {
            let n = match op {
                TernOp::ShfLWrap | TernOp::ShfRWrap => c & 31,
                _ => (c & 0xffff_ffff).min(32),
            };
            let x = (a & 0xffff_ffff) | ((b & 0xffff_ffff) << 32);
            match op {
                TernOp::ShfLWrap | TernOp::ShfLClamp => ((x << n) >> 32) & 0xffff_ffff,
                _ => (x >> n) & 0xffff_ffff,
            }
        }
        TernOp::Lop3(lut) => {
            let mut r = 0u64;
            for i in 0..8 {
                if (lut >> i) & 1 != 0 {
                    let ta = if i & 4 != 0 { a } else { !a };
                    let tb = if i & 2 != 0 { b } else { !b };
                    let tc = if i & 1 != 0 { c } else { !c };
                    r |= ta & tb & tc;
                }
            }
            r & m
        }
        TernOp::Fma | TernOp::SlctF32 => 0,
    }
}

/// `bfi`: insert the low `len` bits of `a` into `b` at `pos`.
#[inline]
pub fn bfi(ty: Ty, a: u64, b: u64, pos: u64, len: u64) -> u64 {
    let bits = ty.bits() as u64;
    let (pos, len) = (pos & 0xff, len & 0xff);
    let m = ty.mask();
    if len == 0 || pos >= bits {
        return b & m;
    }
    let len = len.min(bits - pos);
    let f = if len >= 64 {
        u64::MAX
    } else {
        (1u64 << len) - 1
    } << pos;
    ((b & !f) | ((a << pos) & f)) & m
}

/// Integer comparison for `setp` (unsigned for .u/.b types and lo/ls/hi/hs).
#[inline]
pub fn int_cmp(cmp: Cmp, ty: Ty, a: u64, b: u64) -> bool {
    let (x, y) = (as_i128(a, ty), as_i128(b, ty));
    let (ux, uy) = (a & ty.mask(), b & ty.mask());
    match cmp {
        Cmp::Eq => ux == uy,
        Cmp::Ne => ux != uy,
        Cmp::Lt => x < y,
        Cmp::Le => x <= y,
        Cmp::Gt => x > y,
        Cmp::Ge => x >= y,
        Cmp::Lo => ux < uy,
        Cmp::Ls => ux <= uy,
        Cmp::Hi => ux > uy,
        Cmp::Hs => ux >= uy,
        _ => false,
    }
}
