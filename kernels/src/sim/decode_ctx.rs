//! The decoder's state shared by every lowering step: the [`Dec`] context (code being built,
//! registers, scopes, symbol layout, call frames) with its small helpers, and the modifier
//! list of the instruction being lowered ([`Mods`]). Every `decode_*` module builds on this
//! one and it on none of them, so their imports run one way: decode -> decode_ops ->
//! {decode_mem, decode_call, decode_operands} -> decode_ctx.

use super::error::SimError;
use super::ir::*;
use super::parse::ModuleAst;
use std::collections::HashMap;

/// What a name denotes inside a function.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sym {
    Reg(Reg),
    Shared(u32),
    Local(u32),
    /// Per-thread param space (offset, size).
    TParam(u32, u32),
    /// Kernel param buffer (offset, size).
    KParam(u32, u32),
    Global(u64),
    Const(u64),
    /// `.extern .shared` (dynamic): offsets patched to the dynamic base after decoding.
    ExternShared,
}

pub(crate) struct Frame {
    pub(crate) index: u16,
    pub(crate) params: Vec<(u32, u32)>,
    pub(crate) rets: Vec<(u32, u32)>,
    pub(crate) start: Option<u32>,
}

pub(crate) struct Dec<'a> {
    pub(crate) ast: &'a ModuleAst,
    pub(crate) lines: &'a [&'a str],
    pub(crate) code: Vec<Inst>,
    pub(crate) nregs: u32,
    pub(crate) consts: HashMap<u64, Reg>,
    pub(crate) const_list: Vec<(Reg, u64)>,
    pub(crate) specials: HashMap<String, Reg>,
    pub(crate) special_list: Vec<(Reg, Special)>,
    pub(crate) scopes: Vec<HashMap<String, Sym>>,
    pub(crate) globals: HashMap<String, Sym>,
    pub(crate) shared_size: u32,
    pub(crate) extern_shared: Vec<String>,
    pub(crate) extern_consts: Vec<usize>,
    pub(crate) extern_pcs: Vec<usize>,
    pub(crate) extern_pending: bool,
    pub(crate) local_size: u32,
    pub(crate) tparam_size: u32,
    pub(crate) labels: HashMap<String, u32>,
    pub(crate) label_fixups: Vec<(usize, String, usize)>,
    pub(crate) frames: HashMap<String, Frame>,
    pub(crate) funcs: Vec<String>,
    pub(crate) queue: Vec<String>,
    pub(crate) call_sites: Vec<CallSite>,
    pub(crate) call_fixups: Vec<(usize, String, usize)>,
    pub(crate) edges: Vec<(u16, u16, usize)>,
    pub(crate) spans: Vec<(u16, FrameSpan)>,
    pub(crate) cur_func: u16,
    pub(crate) cur_line: usize,
    pub(crate) guard: (Reg, bool),
}

pub(crate) type R<T> = Result<T, SimError>;

impl<'a> Dec<'a> {
    pub fn err<T>(&self, line: usize, msg: impl Into<String>) -> R<T> {
        let text = self
            .lines
            .get(line.wrapping_sub(1))
            .unwrap_or(&"")
            .to_string();
        Err(SimError::Parse {
            line,
            text,
            msg: msg.into(),
        })
    }
    pub fn new_reg(&mut self) -> Reg {
        let r = self.nregs;
        self.nregs += 1;
        r
    }
    /// A read-only register holding `v` in every lane.
    pub fn konst(&mut self, v: u64) -> Reg {
        if let Some(&r) = self.consts.get(&v) {
            return r;
        }
        let r = self.new_reg();
        self.consts.insert(v, r);
        self.const_list.push((r, v));
        r
    }
    pub fn emit(&mut self, op: Op) {
        let (g, n) = self.guard;
        if self.extern_pending {
            self.extern_pending = false;
            self.extern_pcs.push(self.code.len());
        }
        self.code.push(Inst {
            op,
            guard: g,
            guard_neg: n,
            line: self.cur_line as u32,
            func: self.cur_func,
        });
    }
    pub fn lookup(&self, name: &str) -> Option<Sym> {
        for s in self.scopes.iter().rev() {
            if let Some(v) = s.get(name) {
                return Some(*v);
            }
        }
        self.globals.get(name).copied()
    }
    pub fn label_ref(&mut self, name: &str) -> R<u32> {
        self.label_fixups
            .push((self.code.len(), name.to_string(), self.cur_line));
        Ok(0)
    }
}

pub(crate) struct Mods<'m> {
    pub(crate) v: Vec<&'m str>,
    pub(crate) used: Vec<bool>,
}

impl<'m> Mods<'m> {
    pub(crate) fn has(&mut self, s: &str) -> bool {
        for (i, m) in self.v.iter().enumerate() {
            if !self.used[i] && *m == s {
                self.used[i] = true;
                return true;
            }
        }
        false
    }
    pub(crate) fn one_of(&mut self, list: &[&'static str]) -> Option<&'static str> {
        list.iter().copied().find(|&s| self.has(s))
    }
    /// Types, in the order written, consumed.
    pub(crate) fn types(&mut self) -> Vec<Ty> {
        let mut out = vec![];
        for (i, m) in self.v.iter().enumerate() {
            if !self.used[i] {
                if let Some(t) = Ty::from_name(m) {
                    self.used[i] = true;
                    out.push(t);
                }
            }
        }
        out
    }
    /// Cache hints (`.L1::evict_last`, `.L2::64B`...) are accepted and ignored.
    pub(crate) fn hints(&mut self) {
        for (i, m) in self.v.iter().enumerate() {
            if m.starts_with("L1::") || m.starts_with("L2::") {
                self.used[i] = true;
            }
        }
    }
    pub(crate) fn finish(&self, d: &Dec, op: &str) -> R<()> {
        for (i, m) in self.v.iter().enumerate() {
            if !self.used[i] {
                return d.err(d.cur_line, format!("unsupported modifier `.{m}` on `{op}`"));
            }
        }
        Ok(())
    }
}
