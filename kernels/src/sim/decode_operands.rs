//! Operand lowering for the decoder: special registers (`%tid.x`, `%laneid`, ...), source
//! and destination operands (registers, immediates, symbols, vector braces) and memory
//! addresses (`[reg+imm]`, `[sym+imm]`) resolved to a state space.

use super::decode_ctx::{Dec, Sym};
use super::error::SimError;
use super::ir::*;
use super::memory::{LOCAL_WINDOW, SHARED_WINDOW};
use super::parse::Opnd;

type R<T> = Result<T, SimError>;

impl<'a> Dec<'a> {
    fn special(&mut self, name: &str) -> Option<Reg> {
        if let Some(&r) = self.specials.get(name) {
            return Some(r);
        }
        let dim = |s: &str| match s {
            "x" => Some(0u8),
            "y" => Some(1),
            "z" => Some(2),
            _ => None,
        };
        let sp = if let Some((a, b)) = name.split_once('.') {
            let d = dim(b)?;
            match a {
                "%tid" => Special::Tid(d),
                "%ntid" => Special::Ntid(d),
                "%ctaid" => Special::Ctaid(d),
                "%nctaid" => Special::Nctaid(d),
                _ => return None,
            }
        } else {
            match name {
                "%laneid" => Special::Laneid,
                "%warpid" => Special::Warpid,
                "%nwarpid" => Special::Nwarpid,
                "%lanemask_eq" => Special::LanemaskEq,
                "%lanemask_lt" => Special::LanemaskLt,
                "%lanemask_le" => Special::LanemaskLe,
                "%lanemask_gt" => Special::LanemaskGt,
                "%lanemask_ge" => Special::LanemaskGe,
                "%smid" => Special::Smid,
                "%nsmid" => Special::Nsmid,
                "%gridid" => Special::Gridid,
                "%clock" => Special::Clock,
                "%clock64" => Special::Clock64,
                "%dynamic_smem_size" => Special::DynSmemSize,
                "%total_smem_size" => Special::TotalSmemSize,
                _ => return None,
            }
        };
        let r = self.new_reg();
        self.specials.insert(name.to_string(), r);
        self.special_list.push((r, sp));
        Some(r)
    }

    /// A destination register (`_` becomes a scratch register).
    pub fn dst(&mut self, o: &Opnd) -> R<Reg> {
        match o {
            Opnd::Sink => Ok(self.new_reg()),
            Opnd::Name(n) => match self.lookup(n) {
                Some(Sym::Reg(r)) => Ok(r),
                _ => self.err(self.cur_line, format!("`{n}` is not a declared register")),
            },
            _ => self.err(self.cur_line, "destination must be a register"),
        }
    }

    /// A source operand of type `ty` as a register (immediates become constant registers).
    pub fn src(&mut self, o: &Opnd, ty: Ty) -> R<Reg> {
        let line = self.cur_line;
        match o {
            Opnd::Int(v) => {
                let v = match ty {
                    Ty::F32 => ((*v as i64) as f32).to_bits() as u64,
                    Ty::F64 => ((*v as i64) as f64).to_bits(),
                    _ => *v & if ty == Ty::Pred { 1 } else { ty.mask() },
                };
                Ok(self.konst(v))
            }
            Opnd::F32(b) => {
                let v = match ty {
                    Ty::F64 => (f32::from_bits(*b) as f64).to_bits(),
                    _ => *b as u64,
                };
                Ok(self.konst(v))
            }
            Opnd::F64(b) => {
                let v = match ty {
                    Ty::F32 => (f64::from_bits(*b) as f32).to_bits() as u64,
                    Ty::F64 | Ty::B64 | Ty::U64 | Ty::S64 => *b,
                    _ => return self.err(line, "double literal in a non-double instruction"),
                };
                Ok(self.konst(v))
            }
            Opnd::Name(n) => {
                if let Some(s) = self.lookup(n) {
                    return match s {
                        Sym::Reg(r) => Ok(r),
                        Sym::Shared(off) => Ok(self.konst(off as u64)),
                        Sym::ExternShared => {
                            let r = self.new_reg();
                            self.extern_consts.push(self.const_list.len());
                            self.const_list.push((r, 0));
                            Ok(r)
                        }
                        Sym::Local(off) => Ok(self.konst(off as u64)),
                        Sym::Global(a) | Sym::Const(a) => Ok(self.konst(a)),
                        // A kernel parameter's address in the .param space (its offset in the
                        // parameter block): NVRTC takes it to index a by-value struct, then
                        // reads through `ld.param [reg+off]`, which is bounds-checked.
                        Sym::KParam(o, _) => Ok(self.konst(o as u64)),
                        Sym::TParam(..) => self.err(
                            line,
                            format!("taking the address of parameter `{n}` is not supported"),
                        ),
                    };
                }
                if let Some(r) = self.special(n) {
                    return Ok(r);
                }
                if n == "WARP_SZ" {
                    return Ok(self.konst(32));
                }
                self.err(line, format!("undefined name `{n}`"))
            }
            Opnd::Not(n) => {
                let p = self.src(&Opnd::Name(n.clone()), Ty::Pred)?;
                let d = self.new_reg();
                let g = self.guard;
                self.guard = (NO_REG, false);
                self.emit(Op::Un {
                    op: UnOp::Not,
                    ty: Ty::Pred,
                    fl: FFlags::default(),
                    d,
                    a: p,
                });
                self.guard = g;
                Ok(d)
            }
            _ => self.err(line, "unsupported source operand"),
        }
    }

    /// An address operand for an access in `space`: (resolved space, address).
    pub fn addr(&mut self, o: &Opnd, space: Space) -> R<(Space, Addr)> {
        let line = self.cur_line;
        let Opnd::Addr { base, off } = o else {
            return self.err(line, "expected an address operand `[...]`");
        };
        let off = *off;
        let Some(b) = base else {
            return Ok((space, Addr { base: NO_REG, off }));
        };
        let sym = match self.lookup(b) {
            Some(s) => s,
            None => match self.special(b) {
                Some(r) => Sym::Reg(r),
                None => return self.err(line, format!("undefined name `{b}` in address")),
            },
        };
        let g = space == Space::Generic;
        let bad = |d: &Self| {
            d.err(
                line,
                format!("symbol `{b}` is not in the {} space", space.name()),
            )
        };
        Ok(match sym {
            Sym::Reg(r) => (space, Addr { base: r, off }),
            Sym::Shared(o) if space == Space::Shared => (
                space,
                Addr {
                    base: NO_REG,
                    off: o as i64 + off,
                },
            ),
            Sym::Shared(o) if g => (
                space,
                Addr {
                    base: NO_REG,
                    off: (SHARED_WINDOW + o as u64) as i64 + off,
                },
            ),
            Sym::ExternShared if space == Space::Shared || g => {
                self.extern_pending = true;
                let w = if g { SHARED_WINDOW as i64 } else { 0 };
                (
                    space,
                    Addr {
                        base: NO_REG,
                        off: w + off,
                    },
                )
            }
            Sym::Local(o) if space == Space::Local => (
                space,
                Addr {
                    base: NO_REG,
                    off: o as i64 + off,
                },
            ),
            Sym::Local(o) if g => (
                space,
                Addr {
                    base: NO_REG,
                    off: (LOCAL_WINDOW + o as u64) as i64 + off,
                },
            ),
            Sym::Global(a) if space == Space::Global || g => (
                space,
                Addr {
                    base: NO_REG,
                    off: a as i64 + off,
                },
            ),
            Sym::Const(a) if space == Space::Const || g => (
                space,
                Addr {
                    base: NO_REG,
                    off: a as i64 + off,
                },
            ),
            Sym::TParam(o, _) if space == Space::Param => (
                Space::TParam,
                Addr {
                    base: NO_REG,
                    off: o as i64 + off,
                },
            ),
            Sym::KParam(o, _) if space == Space::Param => (
                Space::Param,
                Addr {
                    base: NO_REG,
                    off: o as i64 + off,
                },
            ),
            _ => return bad(self),
        })
    }
}
