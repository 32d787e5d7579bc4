//! Opcode table, part 2: memory (`ld`, `st`, `atom`, `red`) and synchronisation
//! (`bar`, `barrier`, `shfl.sync`, `vote.sync`, `match.sync`, `activemask`, fences).

use super::decode_ctx::{Dec, Mods};
use super::error::SimError;
use super::ir::*;
use super::parse::Opnd;

type R<T> = Result<T, SimError>;

fn space_mod(m: &mut Mods) -> Space {
    match m.one_of(&[
        "global",
        "shared",
        "shared::cta",
        "local",
        "const",
        "param",
        "param::entry",
        "param::func",
    ]) {
        Some("global") => Space::Global,
        Some("shared" | "shared::cta") => Space::Shared,
        Some("local") => Space::Local,
        Some("const") => Space::Const,
        Some(_) => Space::Param,
        None => Space::Generic,
    }
}

fn single_ty(d: &Dec, m: &mut Mods, what: &str) -> R<Ty> {
    match m.types().as_slice() {
        [t] if *t != Ty::Pred => Ok(*t),
        _ => d.err(d.cur_line, format!("unsupported type on `{what}`")),
    }
}

pub(crate) fn ldst(d: &mut Dec, m: &mut Mods, base: &str, o: &[Opnd]) -> R<()> {
    let line = d.cur_line;
    m.one_of(&["weak", "volatile", "relaxed", "acquire", "release", "mmio"]);
    m.one_of(&["cta", "gpu", "sys", "cluster"]);
    let space = space_mod(m);
    m.one_of(&["ca", "cg", "cs", "lu", "cv", "wb", "wt"]);
    m.has("nc");
    let n: u8 = if m.has("v2") {
        2
    } else if m.has("v4") {
        4
    } else {
        1
    };
    m.hints();
    let ty = single_ty(d, m, base)?;
    if o.len() != 2 {
        return d.err(line, format!("`{base}` takes 2 operands"));
    }
    let (vals, addr) = if base == "st" {
        (&o[1], &o[0])
    } else {
        (&o[0], &o[1])
    };
    let items: Vec<Opnd> = match vals {
        Opnd::Vec(v) => v.clone(),
        x => vec![x.clone()],
    };
    if items.len() != n as usize {
        return d.err(
            line,
            format!("`{base}` with {} values, expected {n}", items.len()),
        );
    }
    let (space, addr) = d.addr(addr, space)?;
    let mut regs = [NO_REG; 4];
    if base == "st" {
        if space == Space::Param || space == Space::Const {
            return d.err(line, "store to a read-only space");
        }
        for (k, x) in items.iter().enumerate() {
            regs[k] = d.src(x, ty)?;
        }
        d.emit(Op::St {
            space,
            ty,
            n,
            srcs: regs,
            addr,
        });
    } else {
        for (k, x) in items.iter().enumerate() {
            regs[k] = d.dst(x)?;
        }
        d.emit(Op::Ld {
            space,
            ty,
            n,
            dsts: regs,
            addr,
        });
    }
    Ok(())
}

pub(crate) fn atom(d: &mut Dec, m: &mut Mods, base: &str, o: &[Opnd]) -> R<()> {
    let line = d.cur_line;
    m.one_of(&["relaxed", "acquire", "release", "acq_rel"]);
    m.one_of(&["cta", "gpu", "sys", "cluster"]);
    let space = space_mod(m);
    if !matches!(space, Space::Global | Space::Shared | Space::Generic) {
        return d.err(line, "atomics work on global, shared or generic addresses");
    }
    let op = match m.one_of(&[
        "add", "min", "max", "inc", "dec", "cas", "exch", "and", "or", "xor",
    ]) {
        Some("add") => AtomOp::Add,
        Some("min") => AtomOp::Min,
        Some("max") => AtomOp::Max,
        Some("inc") => AtomOp::Inc,
        Some("dec") => AtomOp::Dec,
        Some("cas") => AtomOp::Cas,
        Some("exch") => AtomOp::Exch,
        Some("and") => AtomOp::And,
        Some("or") => AtomOp::Or,
        Some("xor") => AtomOp::Xor,
        _ => return d.err(line, format!("`{base}` needs an operation")),
    };
    m.has("noftz");
    m.hints();
    let ty = single_ty(d, m, base)?;
    let ok = match op {
        AtomOp::Add => ty.size() >= 4,
        AtomOp::Min | AtomOp::Max => ty.is_int() && ty.size() >= 4,
        AtomOp::Inc | AtomOp::Dec => ty == Ty::U32,
        _ => ty.is_int() && ty.size() >= 4,
    };
    if !ok {
        return d.err(
            line,
            format!("unsupported type for `{base}` of this operation"),
        );
    }
    let want = match (base, op) {
        ("atom", AtomOp::Cas) => 4,
        ("atom", _) => 3,
        ("red", AtomOp::Cas) => return d.err(line, "red.cas does not exist"),
        _ => 2,
    };
    if o.len() != want {
        return d.err(line, format!("`{base}` takes {want} operands"));
    }
    let k = if base == "atom" { 1 } else { 0 };
    let (space, addr) = d.addr(&o[k], space)?;
    let b = d.src(&o[k + 1], ty)?;
    let c = if op == AtomOp::Cas {
        d.src(&o[k + 2], ty)?
    } else {
        NO_REG
    };
    let dd = if base == "atom" {
        d.dst(&o[0])?
    } else {
        NO_REG
    };
    d.emit(Op::Atom {
        space,
        op,
        ty,
        d: dd,
        addr,
        b,
        c,
    });
    Ok(())
}

pub(crate) fn sync(d: &mut Dec, m: &mut Mods, base: &str, o: &[Opnd]) -> R<()> {
    let line = d.cur_line;
    let nops = o.len();
    match base {
        "membar" | "fence" => {
            m.one_of(&["sc", "acq_rel"]);
            m.one_of(&["cta", "gl", "gpu", "sys", "cluster"]);
            if nops != 0 {
                return d.err(line, "fence takes no operands");
            }
            d.emit(Op::Nop);
        }
        "activemask" => {
            m.has("b32");
            if nops != 1 {
                return d.err(line, "activemask takes 1 operand");
            }
            let dd = d.dst(&o[0])?;
            d.emit(Op::Activemask { d: dd });
        }
        "bar" | "barrier" => {
            m.has("cta");
            if m.has("warp") {
                if !m.has("sync") || nops != 1 {
                    return d.err(line, "bar.warp.sync takes one mask operand");
                }
                let mask = d.src(&o[0], Ty::U32)?;
                d.emit(Op::WarpSync { mask });
                return Ok(());
            }
            let aligned = base == "bar" || m.has("aligned");
            if m.has("sync") {
                if nops == 0 || nops > 2 {
                    return d.err(line, "bar.sync takes 1 or 2 operands");
                }
                let id = d.src(&o[0], Ty::U32)?;
                let count = if nops == 2 {
                    d.src(&o[1], Ty::U32)?
                } else {
                    NO_REG
                };
                d.emit(Op::Bar {
                    kind: BarKind::Sync,
                    id,
                    count,
                    d: NO_REG,
                    p: NO_REG,
                    aligned,
                });
            } else if m.has("red") {
                let kind = match m.one_of(&["popc", "and", "or"]) {
                    Some("popc") => BarKind::RedPopc,
                    Some("and") => BarKind::RedAnd,
                    Some("or") => BarKind::RedOr,
                    _ => return d.err(line, "bar.red needs .popc/.and/.or"),
                };
                let ty = m.types();
                let okty = if kind == BarKind::RedPopc {
                    ty == [Ty::U32]
                } else {
                    ty == [Ty::Pred]
                };
                if !okty || !(nops == 3 || nops == 4) {
                    return d.err(line, "bad bar.red form");
                }
                let id = d.src(&o[1], Ty::U32)?;
                let count = if nops == 4 {
                    d.src(&o[2], Ty::U32)?
                } else {
                    NO_REG
                };
                let p = d.src(&o[nops - 1], Ty::Pred)?;
                let dd = d.dst(&o[0])?;
                d.emit(Op::Bar {
                    kind,
                    id,
                    count,
                    d: dd,
                    p,
                    aligned,
                });
            } else {
                return d.err(
                    line,
                    "only bar.sync, bar.red and bar.warp.sync are supported",
                );
            }
        }
        "shfl" => {
            if !m.has("sync") {
                return d.err(line, "shfl without .sync is not supported (use shfl.sync)");
            }
            let mode = match m.one_of(&["up", "down", "bfly", "idx"]) {
                Some("up") => ShflMode::Up,
                Some("down") => ShflMode::Down,
                Some("bfly") => ShflMode::Bfly,
                Some("idx") => ShflMode::Idx,
                _ => return d.err(line, "shfl.sync needs .up/.down/.bfly/.idx"),
            };
            if !m.has("b32") || nops != 5 {
                return d.err(line, "shfl.sync.MODE.b32 d[|p], a, b, c, mask");
            }
            let a = d.src(&o[1], Ty::B32)?;
            let b = d.src(&o[2], Ty::U32)?;
            let c = d.src(&o[3], Ty::U32)?;
            let mask = d.src(&o[4], Ty::U32)?;
            let (dd, p) = dst_pair(d, &o[0])?;
            d.emit(Op::Shfl {
                mode,
                d: dd,
                p,
                a,
                b,
                c,
                mask,
            });
        }
        "vote" => {
            if !m.has("sync") {
                return d.err(line, "vote without .sync is not supported (use vote.sync)");
            }
            let mode = match m.one_of(&["all", "any", "uni", "ballot"]) {
                Some("all") => VoteMode::All,
                Some("any") => VoteMode::Any,
                Some("uni") => VoteMode::Uni,
                Some("ballot") => VoteMode::Ballot,
                _ => return d.err(line, "vote.sync needs .all/.any/.uni/.ballot"),
            };
            let okty = if mode == VoteMode::Ballot {
                m.has("b32")
            } else {
                m.has("pred")
            };
            if !okty || nops != 3 {
                return d.err(line, "bad vote.sync form");
            }
            let a = d.src(&o[1], Ty::Pred)?;
            let mask = d.src(&o[2], Ty::U32)?;
            let dd = d.dst(&o[0])?;
            d.emit(Op::Vote {
                mode,
                d: dd,
                a,
                mask,
            });
        }
        "match" => {
            let all = match m.one_of(&["any", "all"]) {
                Some("all") => true,
                Some(_) => false,
                None => return d.err(line, "match needs .any/.all"),
            };
            if !m.has("sync") || nops != 3 {
                return d.err(line, "bad match.sync form");
            }
            let ty = if m.has("b32") {
                Ty::B32
            } else if m.has("b64") {
                Ty::B64
            } else {
                return d.err(line, "match.sync needs .b32/.b64");
            };
            let a = d.src(&o[1], ty)?;
            let mask = d.src(&o[2], Ty::U32)?;
            let (dd, p) = dst_pair(d, &o[0])?;
            d.emit(Op::Match {
                all,
                ty,
                d: dd,
                p,
                a,
                mask,
            });
        }
        _ => return d.err(line, format!("unknown instruction `{base}`")),
    }
    Ok(())
}

fn dst_pair(d: &mut Dec, o: &Opnd) -> R<(Reg, Reg)> {
    match o {
        Opnd::Pair(a, b) => {
            let a = d.dst(&Opnd::Name(a.clone()))?;
            let b = d.dst(&Opnd::Name(b.clone()))?;
            Ok((a, b))
        }
        x => Ok((d.dst(x)?, NO_REG)),
    }
}
