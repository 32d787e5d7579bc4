//! The opcode table: each (opcode, modifiers, type) combination the simulator knows,
//! lowered to an [`Op`]. A modifier not consumed here is a load error naming the line.

use super::decode_ctx::{Dec, Mods};
use super::error::SimError;
use super::ir::*;
use super::parse::{Inst, Opnd};

type R<T> = Result<T, SimError>;

fn rnd(m: &mut Mods) -> Option<Rnd> {
    m.one_of(&["rn", "rz", "rm", "rp"]).map(|r| match r {
        "rz" => Rnd::Rz,
        "rm" => Rnd::Rm,
        "rp" => Rnd::Rp,
        _ => Rnd::Rn,
    })
}

fn fflags(m: &mut Mods) -> FFlags {
    let r = rnd(m);
    let approx = m.one_of(&["approx", "full"]).is_some();
    FFlags {
        rnd: r.unwrap_or(Rnd::Rn),
        ftz: m.has("ftz"),
        sat: m.has("sat"),
        approx,
    }
}

pub(crate) fn decode_inst(d: &mut Dec, i: &Inst) -> R<()> {
    let mut parts = i.opcode.split('.');
    let base = parts.next().unwrap_or("");
    let v: Vec<&str> = parts.collect();
    let n = v.len();
    let mut m = Mods {
        v,
        used: vec![false; n],
    };
    let o = &i.operands;
    let line = i.line;
    let want = |d: &Dec, k: usize| -> R<()> {
        if o.len() == k {
            Ok(())
        } else {
            d.err(
                line,
                format!("`{}` takes {k} operands, found {}", i.opcode, o.len()),
            )
        }
    };
    // the single type of the instruction, checked against the allowed classes
    let one_ty = |d: &Dec, m: &mut Mods, int: bool, float: bool, pred: bool| -> R<Ty> {
        let t = m.types();
        match t.as_slice() {
            [t] if (int && t.is_int())
                || (float && (*t == Ty::F32 || *t == Ty::F64))
                || (pred && *t == Ty::Pred) =>
            {
                Ok(*t)
            }
            _ => d.err(line, format!("unsupported type for `{}`", i.opcode)),
        }
    };
    match base {
        "mov" => {
            want(d, 2)?;
            let ty = one_ty(d, &mut m, true, true, true)?;
            match (&o[0], &o[1]) {
                (Opnd::Vec(ds), a) => {
                    if ds.len() < 2 || ds.len() > 4 || ty.size() as usize % ds.len() != 0 {
                        return d.err(line, "bad vector unpack");
                    }
                    let ety = elem_ty(ty.size() / ds.len() as u32);
                    let a = d.src(a, ty)?;
                    let mut dsts = [NO_REG; 4];
                    for (k, x) in ds.iter().enumerate() {
                        dsts[k] = d.dst(x)?;
                    }
                    d.emit(Op::Unpack {
                        ety,
                        n: ds.len() as u8,
                        dsts,
                        a,
                    });
                }
                (dst, Opnd::Vec(ss)) => {
                    if ss.len() < 2 || ss.len() > 4 || ty.size() as usize % ss.len() != 0 {
                        return d.err(line, "bad vector pack");
                    }
                    let ety = elem_ty(ty.size() / ss.len() as u32);
                    let mut srcs = [NO_REG; 4];
                    for (k, x) in ss.iter().enumerate() {
                        srcs[k] = d.src(x, ety)?;
                    }
                    let dd = d.dst(dst)?;
                    d.emit(Op::Pack {
                        ety,
                        n: ss.len() as u8,
                        d: dd,
                        srcs,
                    });
                }
                (dst, a) => {
                    let a = d.src(a, ty)?;
                    let dd = d.dst(dst)?;
                    d.emit(Op::Mov { ty, d: dd, a });
                }
            }
        }
        "add" | "sub" | "min" | "max" | "copysign" | "div" | "rem" | "and" | "or" | "xor"
        | "shl" | "shr" | "mul" | "mul24" => {
            want(d, 3)?;
            let lohi = m.one_of(&["lo", "hi", "wide"]);
            let fl = fflags(&mut m);
            let ty = one_ty(d, &mut m, true, true, matches!(base, "and" | "or" | "xor"))?;
            let f = ty.is_float();
            let op = match (base, lohi, f) {
                ("add", None, false) if fl.sat && ty == Ty::S32 => BinOp::AddSat,
                ("sub", None, false) if fl.sat && ty == Ty::S32 => BinOp::SubSat,
                ("add", None, _) => BinOp::Add,
                ("sub", None, _) => BinOp::Sub,
                ("min", None, _) => BinOp::Min,
                ("max", None, _) => BinOp::Max,
                ("copysign", None, true) => BinOp::Copysign,
                ("div", None, _) => BinOp::Div,
                ("rem", None, false) => BinOp::Rem,
                ("and", None, false) => BinOp::And,
                ("or", None, false) => BinOp::Or,
                ("xor", None, false) => BinOp::Xor,
                ("shl", None, false) => BinOp::Shl,
                ("shr", None, false) => BinOp::Shr,
                ("mul", None, true) => BinOp::MulLo,
                ("mul", Some("lo"), false) => BinOp::MulLo,
                ("mul", Some("hi"), false) => BinOp::MulHi,
                ("mul", Some("wide"), false) if ty.size() <= 4 => BinOp::MulWide,
                ("mul24", Some("lo"), false) if ty.size() == 4 => BinOp::Mul24Lo,
                ("mul24", Some("hi"), false) if ty.size() == 4 => BinOp::Mul24Hi,
                _ => return d.err(line, format!("unsupported instruction `{}`", i.opcode)),
            };
            if !f
                && (fl.ftz || fl.approx || (fl.sat && !matches!(op, BinOp::AddSat | BinOp::SubSat)))
            {
                return d.err(line, format!("float modifier on integer `{}`", i.opcode));
            }
            if base == "shl" && !matches!(ty, Ty::B16 | Ty::B32 | Ty::B64) {
                return d.err(line, "shl takes a .b type");
            }
            let bty = if matches!(op, BinOp::Shl | BinOp::Shr) {
                Ty::U32
            } else {
                ty
            };
            let a = d.src(&o[1], ty)?;
            let b = d.src(&o[2], bty)?;
            let dd = d.dst(&o[0])?;
            let ty = if ty == Ty::Pred { Ty::Pred } else { ty };
            d.emit(Op::Bin {
                op,
                ty,
                fl,
                d: dd,
                a,
                b,
            });
        }
        "mad" | "fma" | "mad24" | "sad" => {
            want(d, 4)?;
            let lohi = m.one_of(&["lo", "hi", "wide"]);
            let fl = fflags(&mut m);
            let ty = one_ty(d, &mut m, true, true, false)?;
            let op = match (base, lohi, ty.is_float()) {
                ("fma", None, true) | ("mad", None, true) => TernOp::Fma,
                ("mad", Some("lo"), false) => TernOp::MadLo,
                ("mad", Some("hi"), false) if fl.sat && ty == Ty::S32 => TernOp::MadHiSat,
                ("mad", Some("hi"), false) => TernOp::MadHi,
                ("mad", Some("wide"), false) if ty.size() <= 4 => TernOp::MadWide,
                ("mad24", Some("lo"), false) if ty.size() == 4 => TernOp::Mad24Lo,
                ("sad", None, false) => TernOp::Sad,
                _ => return d.err(line, format!("unsupported instruction `{}`", i.opcode)),
            };
            if !ty.is_float() && (fl.ftz || fl.approx || (fl.sat && op != TernOp::MadHiSat)) {
                return d.err(line, format!("float modifier on integer `{}`", i.opcode));
            }
            let cty = if op == TernOp::MadWide { wide(ty) } else { ty };
            let a = d.src(&o[1], ty)?;
            let b = d.src(&o[2], ty)?;
            let c = d.src(&o[3], cty)?;
            let dd = d.dst(&o[0])?;
            d.emit(Op::Tern {
                op,
                ty,
                fl,
                d: dd,
                a,
                b,
                c,
            });
        }
        "abs" | "neg" | "not" | "cnot" | "popc" | "clz" | "brev" | "bfind" | "rcp" | "sqrt"
        | "rsqrt" | "ex2" | "lg2" | "sin" | "cos" | "tanh" => {
            want(d, 2)?;
            let shift = base == "bfind" && m.has("shiftamt");
            let fl = fflags(&mut m);
            let ty = one_ty(d, &mut m, true, true, matches!(base, "not" | "cnot"))?;
            let op = match (base, ty.is_float()) {
                ("abs", _) => UnOp::Abs,
                ("neg", _) => UnOp::Neg,
                ("not", false) => UnOp::Not,
                ("cnot", false) => UnOp::Cnot,
                ("popc", false) => UnOp::Popc,
                ("clz", false) => UnOp::Clz,
                ("brev", false) => UnOp::Brev,
                ("bfind", false) if shift => UnOp::BfindShift,
                ("bfind", false) => UnOp::Bfind,
                ("rcp", true) => UnOp::Rcp,
                ("sqrt", true) => UnOp::Sqrt,
                ("rsqrt", true) => UnOp::Rsqrt,
                ("ex2", true) => UnOp::Ex2,
                ("lg2", true) => UnOp::Lg2,
                ("sin", true) => UnOp::Sin,
                ("cos", true) => UnOp::Cos,
                ("tanh", true) => UnOp::Tanh,
                _ => return d.err(line, format!("unsupported instruction `{}`", i.opcode)),
            };
            if !ty.is_float() && (fl.ftz || fl.approx || fl.sat) {
                return d.err(line, format!("float modifier on integer `{}`", i.opcode));
            }
            let a = d.src(&o[1], ty)?;
            let dd = d.dst(&o[0])?;
            d.emit(Op::Un {
                op,
                ty,
                fl,
                d: dd,
                a,
            });
        }
        "testp" => {
            want(d, 2)?;
            let op = match m.one_of(&[
                "finite",
                "infinite",
                "number",
                "notanumber",
                "normal",
                "subnormal",
            ]) {
                Some("finite") => UnOp::TestFinite,
                Some("infinite") => UnOp::TestInfinite,
                Some("number") => UnOp::TestNumber,
                Some("notanumber") => UnOp::TestNotANumber,
                Some("normal") => UnOp::TestNormal,
                Some("subnormal") => UnOp::TestSubnormal,
                _ => return d.err(line, "testp needs a test"),
            };
            let ty = one_ty(d, &mut m, false, true, false)?;
            let a = d.src(&o[1], ty)?;
            let dd = d.dst(&o[0])?;
            d.emit(Op::Un {
                op,
                ty,
                fl: FFlags::default(),
                d: dd,
                a,
            });
        }
        "bfe" | "prmt" | "selp" | "shf" | "lop3" => {
            let (op, nops) = match base {
                "bfe" => (TernOp::Bfe, 4),
                "prmt" => (TernOp::Prmt, 4),
                "selp" => (TernOp::Selp, 4),
                "lop3" => (TernOp::Lop3(0), 5),
                _ => {
                    let l = m.has("l");
                    let r = m.has("r");
                    let w = m.has("wrap");
                    let c = m.has("clamp");
                    let op = match (l, r, w, c) {
                        (true, false, true, false) => TernOp::ShfLWrap,
                        (true, false, false, true) => TernOp::ShfLClamp,
                        (false, true, true, false) => TernOp::ShfRWrap,
                        (false, true, false, true) => TernOp::ShfRClamp,
                        _ => return d.err(line, "shf needs .l/.r and .wrap/.clamp"),
                    };
                    (op, 4)
                }
            };
            want(d, nops)?;
            let ty = one_ty(d, &mut m, true, base == "selp", false)?;
            if matches!(base, "prmt" | "shf" | "lop3") && ty != Ty::B32 {
                return d.err(line, format!("`{}` takes .b32", i.opcode));
            }
            let op = if let TernOp::Lop3(_) = op {
                match &o[4] {
                    Opnd::Int(v) if *v < 256 => TernOp::Lop3(*v as u8),
                    _ => return d.err(line, "lop3 needs an immediate lookup table"),
                }
            } else {
                op
            };
            let (bty, cty) = match op {
                TernOp::Bfe => (Ty::U32, Ty::U32),
                TernOp::Selp => (ty, Ty::Pred),
                TernOp::ShfLWrap | TernOp::ShfLClamp | TernOp::ShfRWrap | TernOp::ShfRClamp => {
                    (ty, Ty::U32)
                }
                _ => (ty, ty),
            };
            let a = d.src(&o[1], ty)?;
            let b = d.src(&o[2], bty)?;
            let c = d.src(&o[3], cty)?;
            let dd = d.dst(&o[0])?;
            d.emit(Op::Tern {
                op,
                ty,
                fl: FFlags::default(),
                d: dd,
                a,
                b,
                c,
            });
        }
        "slct" => {
            want(d, 4)?;
            let ftz = m.has("ftz");
            let t = m.types();
            let (ty, cty) = match t.as_slice() {
                [a, b] if (*b == Ty::S32 || *b == Ty::F32) && *a != Ty::Pred => (*a, *b),
                _ => return d.err(line, "slct needs .T.s32 or .T.f32"),
            };
            let op = if cty == Ty::S32 {
                TernOp::SlctS32
            } else {
                TernOp::SlctF32
            };
            let a = d.src(&o[1], ty)?;
            let b = d.src(&o[2], ty)?;
            let c = d.src(&o[3], cty)?;
            let dd = d.dst(&o[0])?;
            d.emit(Op::Tern {
                op,
                ty,
                fl: FFlags {
                    ftz,
                    ..Default::default()
                },
                d: dd,
                a,
                b,
                c,
            });
        }
        "bfi" => {
            want(d, 5)?;
            let ty = one_ty(d, &mut m, true, false, false)?;
            let a = d.src(&o[1], ty)?;
            let b = d.src(&o[2], ty)?;
            let c = d.src(&o[3], Ty::U32)?;
            let e = d.src(&o[4], Ty::U32)?;
            let dd = d.dst(&o[0])?;
            d.emit(Op::Bfi {
                ty,
                d: dd,
                a,
                b,
                c,
                e,
            });
        }
        "setp" => {
            if o.len() != 3 && o.len() != 4 {
                return d.err(line, "setp takes 3 or 4 operands");
            }
            let cmp = match m.one_of(&[
                "eq", "ne", "lt", "le", "gt", "ge", "lo", "ls", "hi", "hs", "equ", "neu", "ltu",
                "leu", "gtu", "geu", "num", "nan",
            ]) {
                Some(c) => cmp_of(c),
                None => return d.err(line, "setp needs a comparison"),
            };
            let bop = m.one_of(&["and", "or", "xor"]);
            let ftz = m.has("ftz");
            let ty = one_ty(d, &mut m, true, true, false)?;
            let unordered = matches!(
                cmp,
                Cmp::Equ
                    | Cmp::Neu
                    | Cmp::Ltu
                    | Cmp::Leu
                    | Cmp::Gtu
                    | Cmp::Geu
                    | Cmp::Num
                    | Cmp::Nan
            );
            if unordered && !ty.is_float() {
                return d.err(line, "unordered comparison on an integer type");
            }
            if (bop.is_some()) != (o.len() == 4) {
                return d.err(
                    line,
                    "setp with .and/.or/.xor needs a fourth predicate operand (and only then)",
                );
            }
            let a = d.src(&o[1], ty)?;
            let b = d.src(&o[2], ty)?;
            let comb = match bop {
                Some(bo) => {
                    let c = d.src(&o[3], Ty::Pred)?;
                    Some((
                        match bo {
                            "and" => BoolOp::And,
                            "or" => BoolOp::Or,
                            _ => BoolOp::Xor,
                        },
                        c,
                    ))
                }
                None => None,
            };
            let (dd, q) = match &o[0] {
                Opnd::Pair(p, q) => {
                    let p = d.dst(&Opnd::Name(p.clone()))?;
                    let q = d.dst(&Opnd::Name(q.clone()))?;
                    (p, q)
                }
                x => (d.dst(x)?, NO_REG),
            };
            d.emit(Op::Setp {
                cmp,
                ty,
                ftz,
                d: dd,
                q,
                a,
                b,
                comb,
            });
        }
        "cvt" => {
            want(d, 2)?;
            let r = m.one_of(&["rn", "rz", "rm", "rp", "rni", "rzi", "rmi", "rpi"]);
            let ftz = m.has("ftz");
            let sat = m.has("sat");
            let t = m.types();
            let [dty, sty] = t.as_slice() else {
                return d.err(line, "cvt needs a destination and a source type");
            };
            let (dty, sty) = (*dty, *sty);
            if dty == Ty::Pred || sty == Ty::Pred {
                return d.err(line, "cvt of predicates is not allowed");
            }
            let int_rnd = matches!(r, Some("rni" | "rzi" | "rmi" | "rpi"));
            let rn = match r {
                Some("rz" | "rzi") => Rnd::Rz,
                Some("rm" | "rmi") => Rnd::Rm,
                Some("rp" | "rpi") => Rnd::Rp,
                _ => Rnd::Rn,
            };
            // rounding is required float->int (integer rounding) and for narrowing float->float
            if dty.is_int() && sty.is_float() && !int_rnd {
                return d.err(line, "cvt float->int needs .rni/.rzi/.rmi/.rpi");
            }
            if dty.is_float() && sty.is_int() && (r.is_none() || int_rnd) {
                return d.err(line, "cvt int->float needs .rn/.rz/.rm/.rp");
            }
            if dty.is_int() && sty.is_int() && r.is_some() {
                return d.err(line, "cvt int->int takes no rounding modifier");
            }
            let a = d.src(&o[1], sty)?;
            let dd = d.dst(&o[0])?;
            let fl = FFlags {
                rnd: rn,
                ftz,
                sat,
                approx: false,
            };
            d.emit(Op::Cvt {
                dty,
                sty,
                fl,
                int_rnd,
                d: dd,
                a,
            });
        }
        "cvta" => {
            want(d, 2)?;
            let to = m.has("to");
            let space = match m.one_of(&["global", "shared", "local", "const", "param"]) {
                Some("global") => Space::Global,
                Some("shared") => Space::Shared,
                Some("local") => Space::Local,
                Some("const") => Space::Const,
                _ => return d.err(line, "cvta needs .global/.shared/.local/.const"),
            };
            let ty = one_ty(d, &mut m, true, false, false)?;
            if ty.size() < 4 {
                return d.err(line, "cvta takes .u32 or .u64");
            }
            let a = d.src(&o[1], ty)?;
            let dd = d.dst(&o[0])?;
            d.emit(Op::Cvta {
                to,
                space,
                d: dd,
                a,
                wide: ty.size() == 8,
            });
        }
        "ld" | "ldu" | "st" => super::decode_mem::ldst(d, &mut m, base, o)?,
        "atom" | "red" => super::decode_mem::atom(d, &mut m, base, o)?,
        "bar" | "barrier" | "shfl" | "vote" | "match" | "activemask" | "membar" | "fence" => {
            super::decode_mem::sync(d, &mut m, base, o)?
        }
        "bra" | "brx" => {
            want(d, 1)?;
            m.has("uni");
            let Opnd::Name(l) = &o[0] else {
                return d.err(line, "bra needs a label");
            };
            if base == "brx" {
                return d.err(line, "brx.idx is not supported");
            }
            let target = d.label_ref(l)?;
            d.emit(Op::Bra { target });
        }
        "call" => {
            m.has("uni");
            m.finish(d, &i.opcode)?;
            return d.call(o);
        }
        "ret" | "exit" | "trap" | "nanosleep" | "pmevent" | "brkpt" => {
            m.has("uni");
            m.types();
            let op = match base {
                "ret" => Op::Ret,
                "exit" => Op::Exit,
                "trap" => Op::Trap,
                _ => Op::Nop,
            };
            d.emit(op);
        }
        _ => return d.err(line, format!("unknown instruction `{}`", i.opcode)),
    }
    m.hints();
    m.finish(d, &i.opcode)
}

pub(crate) fn elem_ty(size: u32) -> Ty {
    match size {
        1 => Ty::B8,
        2 => Ty::B16,
        4 => Ty::B32,
        _ => Ty::B64,
    }
}

fn wide(t: Ty) -> Ty {
    match t {
        Ty::U16 => Ty::U32,
        Ty::S16 => Ty::S32,
        Ty::U32 => Ty::U64,
        Ty::S32 => Ty::S64,
        t => t,
    }
}

fn cmp_of(c: &str) -> Cmp {
    match c {
        "eq" => Cmp::Eq,
        "ne" => Cmp::Ne,
        "lt" => Cmp::Lt,
        "le" => Cmp::Le,
        "gt" => Cmp::Gt,
        "ge" => Cmp::Ge,
        "lo" => Cmp::Lo,
        "ls" => Cmp::Ls,
        "hi" => Cmp::Hi,
        "hs" => Cmp::Hs,
        "equ" => Cmp::Equ,
        "neu" => Cmp::Neu,
        "ltu" => Cmp::Ltu,
        "leu" => Cmp::Leu,
        "gtu" => Cmp::Gtu,
        "geu" => Cmp::Geu,
        "num" => Cmp::Num,
        _ => Cmp::Nan,
    }
}
