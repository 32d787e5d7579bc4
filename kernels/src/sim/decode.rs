//! Lowering of the syntax tree to the compact IR, one kernel at a time (with every function
//! it calls): scopes and register numbering, symbol layout (shared, local, params), labels,
//! call sites. Operand lowering (special registers, sources, destinations, addresses) is in
//! [`super::decode_operands`], the opcode table in [`super::decode_ops`].

use super::error::SimError;
use super::ir::*;
use super::parse::{FuncDecl, ModuleAst, Opnd, Stmt, VarDecl};
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

struct Frame {
    index: u16,
    params: Vec<(u32, u32)>,
    rets: Vec<(u32, u32)>,
    start: Option<u32>,
}

pub(crate) struct Dec<'a> {
    pub ast: &'a ModuleAst,
    pub lines: &'a [&'a str],
    pub code: Vec<Inst>,
    pub nregs: u32,
    consts: HashMap<u64, Reg>,
    pub const_list: Vec<(Reg, u64)>,
    pub(super) specials: HashMap<String, Reg>,
    pub special_list: Vec<(Reg, Special)>,
    scopes: Vec<HashMap<String, Sym>>,
    globals: HashMap<String, Sym>,
    pub shared_size: u32,
    extern_shared: Vec<String>,
    pub(super) extern_consts: Vec<usize>,
    extern_pcs: Vec<usize>,
    pub(super) extern_pending: bool,
    pub local_size: u32,
    pub tparam_size: u32,
    labels: HashMap<String, u32>,
    label_fixups: Vec<(usize, String, usize)>,
    frames: HashMap<String, Frame>,
    pub funcs: Vec<String>,
    queue: Vec<String>,
    pub call_sites: Vec<CallSite>,
    call_fixups: Vec<(usize, String, usize)>,
    edges: Vec<(u16, u16, usize)>,
    spans: Vec<(u16, FrameSpan)>,
    pub cur_func: u16,
    pub cur_line: usize,
    pub guard: (Reg, bool),
}

type R<T> = Result<T, SimError>;

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

    fn declare_reg(&mut self, name: &str, line: usize) -> R<()> {
        if self
            .scopes
            .last()
            .is_some_and(|s| matches!(s.get(name), Some(Sym::Reg(_))))
        {
            return self.err(line, format!("register `{name}` declared twice"));
        }
        let r = self.new_reg();
        if let Some(s) = self.scopes.last_mut() {
            s.insert(name.to_string(), Sym::Reg(r));
        }
        Ok(())
    }

    fn declare_var(&mut self, v: &VarDecl) -> R<()> {
        let size = v.size();
        if size > u32::MAX as u64 / 2 {
            return self.err(v.line, "variable too large");
        }
        let (size, align) = (size as u32, v.align.max(1) as u32);
        if v.init.is_some() && v.space != ".global" && v.space != ".const" {
            return self.err(
                v.line,
                "initializers are only supported on .global/.const variables",
            );
        }
        let sym = match v.space.as_str() {
            ".shared" => {
                if v.is_extern || v.dims.first() == Some(&None) {
                    self.extern_shared.push(v.name.clone());
                    Sym::ExternShared
                } else {
                    let o = self.shared_size.next_multiple_of(align);
                    self.shared_size = o + size;
                    Sym::Shared(o)
                }
            }
            ".local" => {
                let o = self.local_size.next_multiple_of(align);
                self.local_size = o + size;
                Sym::Local(o)
            }
            ".param" => {
                let o = self.tparam_size.next_multiple_of(align.max(4));
                self.tparam_size = o + size;
                Sym::TParam(o, size)
            }
            _ => {
                return self.err(
                    v.line,
                    format!("{} variables inside functions are not supported", v.space),
                )
            }
        };
        if let Some(s) = self.scopes.last_mut() {
            s.insert(v.name.clone(), sym);
        }
        Ok(())
    }

    fn frame(&mut self, name: &str, line: usize) -> R<u16> {
        if let Some(f) = self.frames.get(name) {
            return Ok(f.index);
        }
        let Some(fd) = self
            .ast
            .funcs
            .iter()
            .filter(|f| f.name == name && !f.is_entry)
            .max_by_key(|f| f.body.is_some())
        // the definition, not a forward declaration
        else {
            return self.err(line, format!("call to undefined function `{name}`"));
        };
        if fd.body.is_none() {
            return self.err(
                line,
                format!("call to external function `{name}` is not supported"),
            );
        }
        let slots = |list: &Vec<VarDecl>, d: &mut Self| {
            list.iter()
                .map(|p| {
                    let size = p.size() as u32;
                    let o = d.tparam_size.next_multiple_of((p.align as u32).max(4));
                    d.tparam_size = o + size;
                    (o, size)
                })
                .collect::<Vec<_>>()
        };
        let params = slots(&fd.params, self);
        let rets = slots(&fd.rets, self);
        let index = self.funcs.len() as u16;
        self.funcs.push(name.to_string());
        self.frames.insert(
            name.to_string(),
            Frame {
                index,
                params,
                rets,
                start: None,
            },
        );
        self.queue.push(name.to_string());
        Ok(index)
    }

    /// `call (rets), f, (args)`.
    pub fn call(&mut self, ops: &[Opnd]) -> R<()> {
        let line = self.cur_line;
        let (rets, name, args): (&[Opnd], &str, &[Opnd]) = match ops {
            [Opnd::List(r), Opnd::Name(f), Opnd::List(a)] => (r, f, a),
            [Opnd::List(r), Opnd::Name(f)] => (r, f, &[]),
            [Opnd::Name(f), Opnd::List(a)] => (&[], f, a),
            [Opnd::Name(f)] => (&[], f, &[]),
            _ => {
                return self.err(
                    line,
                    "unsupported call form (indirect calls are not supported)",
                )
            }
        };
        let callee = self.frame(name, line)?;
        self.edges.push((self.cur_func, callee, line));
        let fr = &self.frames[name];
        if args.len() != fr.params.len() || rets.len() != fr.rets.len() {
            return self.err(
                line,
                format!("call to `{name}` with the wrong number of arguments"),
            );
        }
        let (fp, fr_rets) = (fr.params.clone(), fr.rets.clone());
        let mut site = CallSite {
            target: 0,
            func: callee,
            ret_pc: 0,
            args: vec![],
            rets: vec![],
        };
        for (a, (po, ps)) in args.iter().zip(fp) {
            match a {
                Opnd::Name(n) => match self.lookup(n) {
                    Some(Sym::TParam(o, s)) => site.args.push((o, po, s.min(ps))),
                    _ => {
                        return self.err(
                            line,
                            format!("call argument `{n}` is not a .param variable"),
                        )
                    }
                },
                _ => return self.err(line, "call arguments must be .param variables"),
            }
        }
        for (a, (ro, rs)) in rets.iter().zip(fr_rets) {
            match a {
                Opnd::Name(n) => match self.lookup(n) {
                    Some(Sym::TParam(o, s)) => site.rets.push((ro, o, s.min(rs))),
                    _ => {
                        return self
                            .err(line, format!("call result `{n}` is not a .param variable"))
                    }
                },
                _ => return self.err(line, "call results must be .param variables"),
            }
        }
        let idx = self.call_sites.len();
        self.call_sites.push(site);
        self.call_fixups.push((idx, name.to_string(), line));
        self.emit(Op::Call { site: idx as u32 });
        let pc = self.code.len() as u32;
        self.call_sites[idx].ret_pc = pc;
        Ok(())
    }

    pub fn label_ref(&mut self, name: &str) -> R<u32> {
        self.label_fixups
            .push((self.code.len(), name.to_string(), self.cur_line));
        Ok(0)
    }

    fn stmts(&mut self, body: &[Stmt]) -> R<()> {
        for s in body {
            match s {
                Stmt::Reg { names, line, .. } => {
                    for (n, c) in names {
                        match c {
                            Some(c) => {
                                for i in 0..*c {
                                    self.declare_reg(&format!("{n}{i}"), *line)?;
                                }
                            }
                            None => self.declare_reg(n, *line)?,
                        }
                    }
                }
                Stmt::Var(v) => self.declare_var(v)?,
                Stmt::Label(n, line) => {
                    if self
                        .labels
                        .insert(n.clone(), self.code.len() as u32)
                        .is_some()
                    {
                        return self.err(*line, format!("label `{n}` defined twice"));
                    }
                }
                Stmt::Scope(inner) => {
                    self.scopes.push(HashMap::new());
                    self.stmts(inner)?;
                    self.scopes.pop();
                }
                Stmt::Inst(i) => {
                    self.cur_line = i.line;
                    self.guard = (NO_REG, false);
                    if let Some((g, neg)) = &i.guard {
                        let r = match self.lookup(g) {
                            Some(Sym::Reg(r)) => r,
                            _ => {
                                return self
                                    .err(i.line, format!("guard `{g}` is not a declared register"))
                            }
                        };
                        self.guard = (r, *neg);
                    }
                    super::decode_ops::decode_inst(self, i)?;
                }
            }
        }
        Ok(())
    }

    fn function(&mut self, f: &FuncDecl, entry: bool) -> R<()> {
        self.labels.clear();
        self.label_fixups.clear();
        let mut scope = HashMap::new();
        if !entry {
            let fr = &self.frames[&f.name];
            for (p, &(o, s)) in f.params.iter().zip(&fr.params) {
                scope.insert(p.name.clone(), Sym::TParam(o, s));
            }
            for (p, &(o, s)) in f.rets.iter().zip(&fr.rets) {
                scope.insert(p.name.clone(), Sym::TParam(o, s));
            }
        }
        self.scopes.push(scope);
        let body = f.body.as_deref().unwrap_or(&[]);
        let start = self.code.len() as u32;
        if !entry {
            if let Some(fr) = self.frames.get_mut(&f.name) {
                fr.start = Some(start);
            }
        }
        let (r0, l0, t0) = (self.nregs, self.local_size, self.tparam_size);
        self.stmts(body)?;
        self.scopes.pop();
        if !entry {
            let fr = &self.frames[&f.name];
            let mut tparam: Vec<(u32, u32)> = fr.params.iter().chain(&fr.rets).copied().collect();
            tparam.push((t0, self.tparam_size - t0));
            let span = FrameSpan {
                regs: (r0, self.nregs),
                local: (l0, self.local_size),
                tparam,
            };
            self.spans.push((self.cur_func, span));
        }
        self.cur_line = f.line;
        self.guard = (NO_REG, false);
        self.emit(if entry { Op::Exit } else { Op::Ret });
        for (pc, name, line) in std::mem::take(&mut self.label_fixups) {
            let Some(&t) = self.labels.get(&name) else {
                return self.err(line, format!("undefined label `{name}`"));
            };
            if let Op::Bra { target } = &mut self.code[pc].op {
                *target = t;
            }
        }
        Ok(())
    }
}

/// Global/const symbol addresses of a loaded module.
pub type GlobalSyms = HashMap<String, (u64, bool)>;

/// Decode the kernel `entry` of `ast` (with the functions it calls).
pub fn decode_kernel(
    ast: &ModuleAst,
    entry: &FuncDecl,
    lines: &[&str],
    gsyms: &GlobalSyms,
) -> R<Kernel> {
    let mut globals = HashMap::new();
    for (n, &(a, c)) in gsyms {
        globals.insert(n.clone(), if c { Sym::Const(a) } else { Sym::Global(a) });
    }
    let mut d = Dec {
        ast,
        lines,
        code: vec![],
        nregs: 0,
        consts: HashMap::new(),
        const_list: vec![],
        specials: HashMap::new(),
        special_list: vec![],
        scopes: vec![],
        globals,
        shared_size: 0,
        extern_shared: vec![],
        extern_consts: vec![],
        extern_pcs: vec![],
        extern_pending: false,
        local_size: 0,
        tparam_size: 0,
        labels: HashMap::new(),
        label_fixups: vec![],
        frames: HashMap::new(),
        funcs: vec![entry.name.clone()],
        queue: vec![],
        call_sites: vec![],
        call_fixups: vec![],
        edges: vec![],
        spans: vec![],
        cur_func: 0,
        cur_line: entry.line,
        guard: (NO_REG, false),
    };
    // module-level shared variables
    for v in &ast.vars {
        if v.space == ".shared" {
            d.scopes.push(HashMap::new());
            d.declare_var(v)?;
            let m = d.scopes.pop().unwrap_or_default();
            d.globals.extend(m);
        }
    }
    // kernel params
    let mut params = vec![];
    let mut poff = 0u32;
    let mut kscope = HashMap::new();
    for p in &entry.params {
        let size = p.size() as u32;
        let align = (p.align as u32).max(1);
        let o = poff.next_multiple_of(align);
        poff = o + size;
        kscope.insert(p.name.clone(), Sym::KParam(o, size));
        params.push(ParamInfo {
            name: p.name.clone(),
            ty: p.ty.clone(),
            size,
            align,
            offset: o,
        });
    }
    d.scopes.push(kscope);
    d.function(entry, true)?;
    d.scopes.pop();
    while let Some(name) = d.queue.pop() {
        let Some(f) = ast
            .funcs
            .iter()
            .find(|f| f.name == name && !f.is_entry && f.body.is_some())
        else {
            continue;
        };
        d.cur_func = d.frames[&name].index;
        d.function(f, false)?;
    }
    // resolve calls; recursion (a cycle in the call graph) needs per-call frames
    for (idx, name, _) in &d.call_fixups {
        d.call_sites[*idx].target = d.frames[name].start.unwrap_or(0);
    }
    let n = d.funcs.len();
    let mut adj = vec![vec![]; n];
    for &(a, b, line) in &d.edges {
        adj[a as usize].push((b as usize, line));
    }
    // DFS for cycles
    let mut state = vec![0u8; n];
    fn dfs(u: usize, adj: &[Vec<(usize, usize)>], st: &mut [u8]) -> Option<usize> {
        st[u] = 1;
        for &(v, line) in &adj[u] {
            if st[v] == 1 {
                return Some(line);
            }
            if st[v] == 0 {
                if let Some(l) = dfs(v, adj, st) {
                    return Some(l);
                }
            }
        }
        st[u] = 2;
        None
    }
    let mut frames = vec![];
    if dfs(0, &adj, &mut state).is_some() {
        frames = vec![FrameSpan::default(); n];
        for (i, span) in std::mem::take(&mut d.spans) {
            frames[i as usize] = span;
        }
    }
    // dynamic shared memory starts after the static part: patch its users
    let dyn_base = d.shared_size.next_multiple_of(16);
    for &i in &d.extern_consts {
        d.const_list[i].1 += dyn_base as u64;
    }
    for &pc in &d.extern_pcs {
        match &mut d.code[pc].op {
            Op::Ld { addr, .. } | Op::St { addr, .. } | Op::Atom { addr, .. } => {
                addr.off += dyn_base as i64
            }
            _ => {}
        }
    }
    Ok(Kernel {
        name: entry.name.clone(),
        code: d.code,
        nregs: d.nregs,
        consts: d.const_list,
        specials: d.special_list,
        call_sites: d.call_sites,
        params,
        param_size: poff,
        shared_static: d.shared_size,
        dyn_shared_base: dyn_base,
        local_size: d.local_size,
        tparam_size: d.tparam_size,
        funcs: d.funcs,
        has_calls: !d.edges.is_empty(),
        frames,
    })
}
