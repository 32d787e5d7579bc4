//! Lowering of the syntax tree to the compact IR, one kernel at a time (with every function
//! it calls): scopes and register numbering, symbol layout (shared, local, params), labels,
//! call sites. Operand lowering (special registers, sources, destinations, addresses) is in
//! [`super::decode_operands`], the opcode table in [`super::decode_ops`].

use super::decode_ctx::{Dec, Sym, R};
use super::ir::*;
use super::parse::{FuncDecl, ModuleAst, Stmt, VarDecl};
use std::collections::HashMap;

impl<'a> Dec<'a> {
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
