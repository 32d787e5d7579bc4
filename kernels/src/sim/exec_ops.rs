//! Instruction semantics for the block executor: `Launch::exec` runs one non-control
//! instruction (arithmetic, logic, compare/select, conversions, moves, memory via
//! [`super::exec_mem`]) for the active lanes of a warp, over the structure-of-arrays
//! registers with the lane-map helpers below.

use super::alu;
use super::error::SimError;
use super::exec::{lanes, ri, BlockMem, Launch, Warp, FULL};
use super::float;
use super::ir::*;
use super::memory::{LOCAL_WINDOW, SHARED_WINDOW};

#[inline(always)]
fn arr(r: &[u64], a: Reg) -> [u64; 32] {
    let i = ri(a, 0);
    let mut x = [0u64; 32];
    x.copy_from_slice(&r[i..i + 32]);
    x
}

#[inline(always)]
fn out(r: &mut [u64], d: Reg) -> &mut [u64; 32] {
    let i = ri(d, 0);
    <&mut [u64; 32]>::try_from(&mut r[i..i + 32]).expect("register slice")
}

#[inline(always)]
fn map1(r: &mut [u64], d: Reg, a: Reg, mask: u32, f: impl Fn(u64) -> u64) {
    let av = arr(r, a);
    let dv = out(r, d);
    if mask == FULL {
        for l in 0..32 {
            dv[l] = f(av[l]);
        }
    } else {
        lanes(mask, |l| dv[l] = f(av[l]));
    }
}

#[inline(always)]
fn map2(r: &mut [u64], d: Reg, a: Reg, b: Reg, mask: u32, f: impl Fn(u64, u64) -> u64) {
    let (av, bv) = (arr(r, a), arr(r, b));
    let dv = out(r, d);
    if mask == FULL {
        for l in 0..32 {
            dv[l] = f(av[l], bv[l]);
        }
    } else {
        lanes(mask, |l| dv[l] = f(av[l], bv[l]));
    }
}

#[inline(always)]
fn map3(
    r: &mut [u64],
    d: Reg,
    a: Reg,
    b: Reg,
    c: Reg,
    mask: u32,
    f: impl Fn(u64, u64, u64) -> u64,
) {
    let (av, bv, cv) = (arr(r, a), arr(r, b), arr(r, c));
    let dv = out(r, d);
    if mask == FULL {
        for l in 0..32 {
            dv[l] = f(av[l], bv[l], cv[l]);
        }
    } else {
        lanes(mask, |l| dv[l] = f(av[l], bv[l], cv[l]));
    }
}

#[inline(always)]
fn f32of(v: u64) -> f32 {
    f32::from_bits(v as u32)
}
#[inline(always)]
fn of32(x: f32) -> u64 {
    if x.is_nan() {
        0x7fff_ffff
    } else {
        x.to_bits() as u64
    }
}

impl<'a> Launch<'a> {
    /// Execute a non-control instruction for the `active` lanes.
    #[inline]
    pub(super) fn exec(
        &self,
        w: &mut Warp,
        bm: &mut BlockMem,
        inst: &Inst,
        active: u32,
        mask: u32,
        pc: u32,
    ) -> Result<(), SimError> {
        let r = &mut w.regs;
        match inst.op {
            Op::Nop => {}
            Op::Mov { ty, d, a } => {
                let m = ty.mask();
                map1(r, d, a, active, |x| x & m);
            }
            Op::Bin {
                op,
                ty,
                fl,
                d,
                a,
                b,
            } => {
                let plain = fl == FFlags::default();
                match (op, ty) {
                    (BinOp::Add, Ty::F32) if plain => {
                        map2(r, d, a, b, active, |x, y| of32(f32of(x) + f32of(y)))
                    }
                    (BinOp::Sub, Ty::F32) if plain => {
                        map2(r, d, a, b, active, |x, y| of32(f32of(x) - f32of(y)))
                    }
                    (BinOp::MulLo, Ty::F32) if plain => {
                        map2(r, d, a, b, active, |x, y| of32(f32of(x) * f32of(y)))
                    }
                    (BinOp::Add, Ty::S32 | Ty::U32 | Ty::B32) => {
                        map2(r, d, a, b, active, |x, y| x.wrapping_add(y) & 0xffff_ffff)
                    }
                    (BinOp::Add, Ty::S64 | Ty::U64 | Ty::B64) => {
                        map2(r, d, a, b, active, |x, y| x.wrapping_add(y))
                    }
                    (BinOp::Sub, Ty::S32 | Ty::U32 | Ty::B32) => {
                        map2(r, d, a, b, active, |x, y| x.wrapping_sub(y) & 0xffff_ffff)
                    }
                    (BinOp::MulLo, Ty::S32 | Ty::U32 | Ty::B32) => {
                        map2(r, d, a, b, active, |x, y| x.wrapping_mul(y) & 0xffff_ffff)
                    }
                    (BinOp::MulWide, Ty::S32) => map2(r, d, a, b, active, |x, y| {
                        ((x as i32 as i64).wrapping_mul(y as i32 as i64)) as u64
                    }),
                    (BinOp::MulWide, Ty::U32) => map2(r, d, a, b, active, |x, y| {
                        (x & 0xffff_ffff) * (y & 0xffff_ffff)
                    }),
                    (BinOp::And, Ty::Pred) => map2(r, d, a, b, active, |x, y| x & y & 1),
                    (BinOp::Or, Ty::Pred) => map2(r, d, a, b, active, |x, y| (x | y) & 1),
                    _ if ty.is_float() => map2(r, d, a, b, active, |x, y| {
                        float::float_bin(op, ty, fl, x, y)
                    }),
                    _ => map2(r, d, a, b, active, |x, y| alu::int_bin(op, ty, x, y)),
                }
            }
            Op::Un { op, ty, fl, d, a } => {
                if ty.is_float() {
                    map1(r, d, a, active, |x| float::float_un(op, ty, fl, x));
                } else {
                    map1(r, d, a, active, |x| alu::int_un(op, ty, x));
                }
            }
            Op::Tern {
                op,
                ty,
                fl,
                d,
                a,
                b,
                c,
            } => match op {
                TernOp::Fma if ty == Ty::F32 && fl == FFlags::default() => {
                    map3(r, d, a, b, c, active, |x, y, z| {
                        of32(f32of(x).mul_add(f32of(y), f32of(z)))
                    })
                }
                TernOp::MadLo if ty.size() == 4 => map3(r, d, a, b, c, active, |x, y, z| {
                    x.wrapping_mul(y).wrapping_add(z) & 0xffff_ffff
                }),
                TernOp::Selp => map3(
                    r,
                    d,
                    a,
                    b,
                    c,
                    active,
                    |x, y, z| if z & 1 != 0 { x } else { y },
                ),
                TernOp::Fma | TernOp::SlctF32 => map3(r, d, a, b, c, active, |x, y, z| {
                    float::float_tern(op, ty, fl, x, y, z)
                }),
                _ => map3(r, d, a, b, c, active, |x, y, z| {
                    alu::int_tern(op, ty, x, y, z)
                }),
            },
            Op::Bfi { ty, d, a, b, c, e } => lanes(active, |l| {
                r[ri(d, l)] = alu::bfi(ty, r[ri(a, l)], r[ri(b, l)], r[ri(c, l)], r[ri(e, l)])
            }),
            Op::Setp {
                cmp,
                ty,
                ftz,
                d,
                q,
                a,
                b,
                comb,
            } => lanes(active, |l| {
                let (x, y) = (r[ri(a, l)], r[ri(b, l)]);
                let t = if ty.is_float() {
                    float::fcmp(cmp, float::fval(x, ty, ftz), float::fval(y, ty, ftz))
                } else {
                    alu::int_cmp(cmp, ty, x, y)
                };
                let (p, nq) = match comb {
                    None => (t, !t),
                    Some((bo, c)) => {
                        let c = r[ri(c, l)] & 1 != 0;
                        let f = |v: bool| match bo {
                            BoolOp::And => v && c,
                            BoolOp::Or => v || c,
                            BoolOp::Xor => v ^ c,
                        };
                        (f(t), f(!t))
                    }
                };
                r[ri(d, l)] = p as u64;
                if q != NO_REG {
                    r[ri(q, l)] = nq as u64;
                }
            }),
            Op::Cvt {
                dty,
                sty,
                fl,
                int_rnd,
                d,
                a,
            } => map1(r, d, a, active, |x| float::cvt(dty, sty, fl, int_rnd, x)),
            Op::Pack { ety, n, d, srcs } => lanes(active, |l| {
                let bits = ety.bits();
                let mut v = 0u64;
                for (k, s) in srcs.iter().take(n as usize).enumerate() {
                    v |= (r[ri(*s, l)] & ety.mask()) << (bits as usize * k);
                }
                r[ri(d, l)] = v;
            }),
            Op::Unpack { ety, n, dsts, a } => lanes(active, |l| {
                let v = r[ri(a, l)];
                for (k, dd) in dsts.iter().take(n as usize).enumerate() {
                    r[ri(*dd, l)] = (v >> (ety.bits() as usize * k)) & ety.mask();
                }
            }),
            Op::Cvta {
                to,
                space,
                d,
                a,
                wide,
            } => {
                let win = match space {
                    Space::Shared => SHARED_WINDOW,
                    Space::Local => LOCAL_WINDOW,
                    _ => 0,
                };
                lanes(active, |l| {
                    let v = r[ri(a, l)];
                    let v = if to {
                        v.wrapping_sub(win)
                    } else {
                        v.wrapping_add(win)
                    };
                    r[ri(d, l)] = if wide { v } else { v & 0xffff_ffff };
                });
            }
            Op::Activemask { d } => lanes(active, |l| r[ri(d, l)] = mask as u64),
            Op::Ld { .. } | Op::St { .. } | Op::Atom { .. } => {
                self.mem_op(w, bm, inst, active, pc)?
            }
            _ => {
                let l = active.trailing_zeros() as usize;
                return Err(self.runtime_err(
                    bm,
                    w,
                    l,
                    pc,
                    format!("cannot execute {:?} here", inst.op),
                ));
            }
        }
        Ok(())
    }
}
