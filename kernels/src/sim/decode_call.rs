//! Lowering of `call`: the callee's `.param` frame (laid out on its first call) and the call
//! site's argument and result copies.

use super::decode_ctx::{Dec, Frame, Sym, R};
use super::ir::*;
use super::parse::{Opnd, VarDecl};

impl<'a> Dec<'a> {
    pub(crate) fn frame(&mut self, name: &str, line: usize) -> R<u16> {
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
}
