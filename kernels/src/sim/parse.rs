//! PTX syntax tree and its parser (module-level directives, functions, statements).
//! Strict: anything not understood is a `SimError::Parse` naming the line and its text.

use super::error::SimError;
use super::lexer::{tokenize, Tok, Token};

/// An instruction operand as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Opnd {
    /// Register, symbol, label or function name (resolved by the decoder).
    Name(String),
    /// Integer literal (unary minus applied, two's complement).
    Int(u64),
    F32(u32),
    F64(u64),
    /// `[base+off]`, `[base]`, `[imm]`.
    Addr {
        base: Option<String>,
        off: i64,
    },
    /// `{a, b, c, d}` vector operand.
    Vec(Vec<Opnd>),
    /// `%r|%p` two destinations.
    Pair(String, String),
    /// `!%p` negated predicate source.
    Not(String),
    /// `_` sink.
    Sink,
    /// `( ... )` list (call return / argument lists).
    List(Vec<Opnd>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Inst {
    pub guard: Option<(String, bool)>,
    pub opcode: String,
    pub operands: Vec<Opnd>,
    pub line: usize,
}

/// A variable declaration (`.global`, `.const`, `.shared`, `.local`, `.param`).
#[derive(Debug, Clone, PartialEq)]
pub struct VarDecl {
    pub space: String,
    pub align: u64,
    pub ty: String,
    pub vec: u32,
    pub name: String,
    /// Array dimensions; `None` inside for `[]`.
    pub dims: Vec<Option<u64>>,
    pub init: Option<Vec<Opnd>>,
    pub is_extern: bool,
    pub line: usize,
}

impl VarDecl {
    /// Element size in bytes of the declared type (times the vector width).
    pub fn elem_size(&self) -> u64 {
        type_size(&self.ty).unwrap_or(1) * self.vec.max(1) as u64
    }
    /// Total size in bytes (0 for an unsized `[]` array).
    pub fn size(&self) -> u64 {
        let mut n = self.elem_size();
        for d in &self.dims {
            n = n.saturating_mul(d.unwrap_or(0));
        }
        n
    }
}

/// Size in bytes of a PTX fundamental type name (with its leading dot).
pub fn type_size(t: &str) -> Option<u64> {
    Some(match t {
        ".b8" | ".u8" | ".s8" => 1,
        ".b16" | ".u16" | ".s16" | ".f16" => 2,
        ".b32" | ".u32" | ".s32" | ".f32" | ".f16x2" => 4,
        ".b64" | ".u64" | ".s64" | ".f64" => 8,
        ".pred" => 1,
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Reg {
        ty: String,
        names: Vec<(String, Option<u32>)>,
        line: usize,
    },
    Var(VarDecl),
    Label(String, usize),
    Inst(Inst),
    Scope(Vec<Stmt>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FuncDecl {
    pub name: String,
    pub is_entry: bool,
    pub params: Vec<VarDecl>,
    pub rets: Vec<VarDecl>,
    pub body: Option<Vec<Stmt>>,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModuleAst {
    pub vars: Vec<VarDecl>,
    pub funcs: Vec<FuncDecl>,
}

struct Parser<'a> {
    toks: Vec<Token>,
    pos: usize,
    lines: Vec<&'a str>,
    depth: usize,
}

/// Parse a whole PTX module.
pub fn parse_module(src: &str) -> Result<ModuleAst, SimError> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        lines: src.lines().collect(),
        depth: 0,
    };
    p.module()
}

type R<T> = Result<T, SimError>;

impl<'a> Parser<'a> {
    fn line(&self) -> usize {
        self.toks
            .get(self.pos)
            .or_else(|| self.toks.last())
            .map(|t| t.line)
            .unwrap_or(1)
    }
    fn err<T>(&self, msg: impl Into<String>) -> R<T> {
        self.err_at(self.line(), msg)
    }
    fn err_at<T>(&self, line: usize, msg: impl Into<String>) -> R<T> {
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
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }
    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.pos + k).map(|t| &t.tok)
    }
    fn next(&mut self) -> R<Tok> {
        match self.toks.get(self.pos) {
            Some(t) => {
                self.pos += 1;
                Ok(t.tok.clone())
            }
            None => self.err("unexpected end of text"),
        }
    }
    fn is_punct(&self, c: char) -> bool {
        self.peek() == Some(&Tok::Punct(c))
    }
    fn eat_punct(&mut self, c: char) -> bool {
        if self.is_punct(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect_punct(&mut self, c: char) -> R<()> {
        if self.eat_punct(c) {
            Ok(())
        } else {
            let got = self
                .peek()
                .map(|t| format!("{t:?}"))
                .unwrap_or_else(|| "end of text".into());
            self.err(format!("expected `{c}`, found {got}"))
        }
    }
    fn ident(&mut self) -> R<String> {
        match self.next()? {
            Tok::Ident(s) => Ok(s),
            t => {
                self.pos -= 1;
                self.err(format!("expected a name, found {t:?}"))
            }
        }
    }
    fn peek_ident(&self) -> Option<&str> {
        match self.peek() {
            Some(Tok::Ident(s)) => Some(s.as_str()),
            _ => None,
        }
    }
    fn int(&mut self) -> R<u64> {
        let neg = self.eat_punct('-');
        match self.next()? {
            Tok::Int(v) => Ok(if neg { v.wrapping_neg() } else { v }),
            t => {
                self.pos -= 1;
                self.err(format!("expected an integer, found {t:?}"))
            }
        }
    }
    fn skip_line(&mut self, line: usize) {
        while self.pos < self.toks.len() && self.toks[self.pos].line == line {
            self.pos += 1;
        }
    }
    fn skip_to_semi(&mut self) -> R<()> {
        loop {
            if let Tok::Punct(';') = self.next()? {
                return Ok(());
            }
        }
    }

    fn module(&mut self) -> R<ModuleAst> {
        let mut m = ModuleAst::default();
        let mut saw_version = false;
        while let Some(tok) = self.peek().cloned() {
            let line = self.line();
            let Tok::Ident(word) = tok else {
                return self.err("expected a directive at module level");
            };
            match word.as_str() {
                ".version" => {
                    saw_version = true;
                    self.skip_line(line);
                }
                ".target" | ".file" | ".loc" => self.skip_line(line),
                ".address_size" => {
                    self.pos += 1;
                    let v = self.int()?;
                    if v != 64 {
                        return self.err_at(line, "only .address_size 64 is supported");
                    }
                }
                ".pragma" => self.skip_to_semi()?,
                ".section" => {
                    self.skip_line(line);
                    self.skip_balanced()?;
                }
                _ => {
                    let mut is_extern = false;
                    while let Some(w) = self.peek_ident() {
                        match w {
                            ".visible" | ".weak" | ".common" => self.pos += 1,
                            ".extern" => {
                                is_extern = true;
                                self.pos += 1
                            }
                            _ => break,
                        }
                    }
                    match self.peek_ident() {
                        Some(".entry") | Some(".func") => {
                            let f = self.func()?;
                            m.funcs.push(f);
                        }
                        Some(".global") | Some(".const") | Some(".shared") => {
                            let mut v = self.var_decl()?;
                            v.is_extern = is_extern;
                            m.vars.push(v);
                        }
                        _ => {
                            return self
                                .err_at(line, format!("unknown module-level directive `{word}`"))
                        }
                    }
                }
            }
        }
        if !saw_version {
            return self.err_at(1, "missing .version directive");
        }
        Ok(m)
    }

    fn skip_balanced(&mut self) -> R<()> {
        self.expect_punct('{')?;
        let mut d = 1;
        while d > 0 {
            match self.next()? {
                Tok::Punct('{') => d += 1,
                Tok::Punct('}') => d -= 1,
                _ => {}
            }
        }
        Ok(())
    }

    /// `.space [.align N] [.ptr ...] [.vN] .type name[dims] [= init]` (no trailing `;` consumed).
    fn var_core(&mut self, in_param_list: bool) -> R<VarDecl> {
        let line = self.line();
        let space = self.ident()?;
        let mut v = VarDecl {
            space,
            align: 0,
            ty: String::new(),
            vec: 1,
            name: String::new(),
            dims: vec![],
            init: None,
            is_extern: false,
            line,
        };
        loop {
            let Some(w) = self.peek_ident().map(|s| s.to_string()) else {
                return self.err("expected a declaration attribute or name");
            };
            if !w.starts_with('.') {
                break;
            }
            self.pos += 1;
            match w.as_str() {
                ".align" => {
                    let a = self.int()?;
                    if a == 0 || !a.is_power_of_two() || a > 4096 {
                        return self.err_at(line, "bad alignment");
                    }
                    v.align = a;
                }
                ".v2" => v.vec = 2,
                ".v4" => v.vec = 4,
                ".ptr" | ".global" | ".shared" | ".const" | ".local" if in_param_list => {}
                t if type_size(t).is_some() => v.ty = t.to_string(),
                _ => return self.err_at(line, format!("unknown attribute `{w}` in declaration")),
            }
        }
        if v.ty.is_empty() {
            return self.err_at(line, "declaration without a type");
        }
        v.name = self.ident()?;
        if v.name.starts_with('.') {
            return self.err_at(line, "bad variable name");
        }
        while self.eat_punct('[') {
            if self.eat_punct(']') {
                v.dims.push(None);
            } else {
                let n = self.int()?;
                if n > (1 << 32) {
                    return self.err_at(line, "array too large");
                }
                v.dims.push(Some(n));
                self.expect_punct(']')?;
            }
        }
        if v.align == 0 {
            v.align = v.elem_size().max(1);
        }
        if self.eat_punct('=') {
            let mut items = vec![];
            self.init_list(&mut items, 0)?;
            v.init = Some(items);
        }
        Ok(v)
    }

    fn init_list(&mut self, out: &mut Vec<Opnd>, depth: usize) -> R<()> {
        if depth > 8 {
            return self.err("initializer nested too deep");
        }
        if self.eat_punct('{') {
            if self.eat_punct('}') {
                return Ok(());
            }
            loop {
                self.init_list(out, depth + 1)?;
                if self.eat_punct('}') {
                    return Ok(());
                }
                self.expect_punct(',')?;
            }
        }
        let neg = self.eat_punct('-');
        match self.next()? {
            Tok::Int(v) => out.push(Opnd::Int(if neg { v.wrapping_neg() } else { v })),
            Tok::F32(b) if !neg => out.push(Opnd::F32(b)),
            Tok::F64(b) if !neg => out.push(Opnd::F64(b)),
            Tok::F64(b) => out.push(Opnd::F64(b ^ (1 << 63))),
            _ => {
                self.pos -= 1;
                return self.err("unsupported initializer (only numbers are supported)");
            }
        }
        Ok(())
    }

    fn var_decl(&mut self) -> R<VarDecl> {
        let v = self.var_core(false)?;
        self.expect_punct(';')?;
        Ok(v)
    }

    fn param_list(&mut self) -> R<Vec<VarDecl>> {
        self.expect_punct('(')?;
        let mut out = vec![];
        if self.eat_punct(')') {
            return Ok(out);
        }
        loop {
            if self.peek_ident() != Some(".param") && self.peek_ident() != Some(".reg") {
                return self.err("expected `.param` in parameter list");
            }
            let v = self.var_core(true)?;
            if v.space != ".param" {
                return self.err_at(v.line, "only .param parameters are supported");
            }
            out.push(v);
            if self.eat_punct(')') {
                return Ok(out);
            }
            self.expect_punct(',')?;
        }
    }

    fn func(&mut self) -> R<FuncDecl> {
        let line = self.line();
        let kw = self.ident()?;
        let is_entry = kw == ".entry";
        let mut rets = vec![];
        if !is_entry && self.is_punct('(') {
            rets = self.param_list()?;
        }
        let name = self.ident()?;
        if name.starts_with('.') {
            return self.err_at(line, "expected a function name");
        }
        let params = if self.is_punct('(') {
            self.param_list()?
        } else {
            vec![]
        };
        // performance directives
        loop {
            match self.peek() {
                Some(Tok::Ident(w)) if w.starts_with('.') => self.pos += 1,
                Some(Tok::Int(_)) | Some(Tok::Punct(',')) => self.pos += 1,
                _ => break,
            }
        }
        let body = if self.eat_punct(';') {
            None
        } else {
            self.expect_punct('{')?;
            Some(self.block()?)
        };
        Ok(FuncDecl {
            name,
            is_entry,
            params,
            rets,
            body,
            line,
        })
    }

    /// Statements until the matching `}` (consumed).
    fn block(&mut self) -> R<Vec<Stmt>> {
        self.depth += 1;
        if self.depth > 64 {
            return self.err("scopes nested too deep");
        }
        let mut out = vec![];
        loop {
            let line = self.line();
            let Some(tok) = self.peek().cloned() else {
                return self.err("unexpected end of text inside a function body (missing `}`)");
            };
            match tok {
                Tok::Punct('}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(out);
                }
                Tok::Punct('{') => {
                    self.pos += 1;
                    out.push(Stmt::Scope(self.block()?));
                }
                Tok::Punct('@') => out.push(Stmt::Inst(self.inst()?)),
                Tok::Ident(w) => {
                    if w.starts_with('.') {
                        match w.as_str() {
                            ".loc" | ".file" => self.skip_line(line),
                            ".pragma" => self.skip_to_semi()?,
                            ".reg" => out.push(self.reg_decl()?),
                            ".local" | ".shared" | ".param" | ".global" | ".const" => {
                                out.push(Stmt::Var(self.var_decl()?));
                            }
                            _ => {
                                return self
                                    .err(format!("unknown directive `{w}` in function body"))
                            }
                        }
                    } else if self.peek_at(1) == Some(&Tok::Punct(':')) {
                        self.pos += 2;
                        if matches!(self.peek_ident(), Some(".callprototype")) {
                            return self
                                .err_at(line, "indirect calls (.callprototype) are not supported");
                        }
                        out.push(Stmt::Label(w, line));
                    } else {
                        out.push(Stmt::Inst(self.inst()?));
                    }
                }
                _ => return self.err("expected an instruction, label or directive"),
            }
        }
    }

    fn reg_decl(&mut self) -> R<Stmt> {
        let line = self.line();
        self.pos += 1; // .reg
        let ty = self.ident()?;
        if ty == ".v2" || ty == ".v4" {
            return self.err_at(line, "vector registers are not supported");
        }
        if type_size(&ty).is_none() {
            return self.err_at(line, format!("unknown register type `{ty}`"));
        }
        let mut names = vec![];
        loop {
            let n = self.ident()?;
            if n.starts_with('.') {
                return self.err_at(line, "bad register name");
            }
            let count = if self.eat_punct('<') {
                let c = self.int()?;
                self.expect_punct('>')?;
                if c > 1 << 20 {
                    return self.err_at(line, "too many registers");
                }
                Some(c as u32)
            } else {
                None
            };
            names.push((n, count));
            if self.eat_punct(';') {
                break;
            }
            self.expect_punct(',')?;
        }
        Ok(Stmt::Reg { ty, names, line })
    }

    fn inst(&mut self) -> R<Inst> {
        let line = self.line();
        let mut guard = None;
        if self.eat_punct('@') {
            let neg = self.eat_punct('!');
            guard = Some((self.ident()?, neg));
        }
        let opcode = self.ident()?;
        if opcode.starts_with('.') || opcode.starts_with('%') {
            return self.err_at(line, format!("expected an opcode, found `{opcode}`"));
        }
        let mut operands = vec![];
        if !self.eat_punct(';') {
            loop {
                operands.push(self.operand(0)?);
                if self.eat_punct(';') {
                    break;
                }
                self.expect_punct(',')?;
            }
        }
        Ok(Inst {
            guard,
            opcode,
            operands,
            line,
        })
    }

    fn operand(&mut self, depth: usize) -> R<Opnd> {
        if depth > 4 {
            return self.err("operand nested too deep");
        }
        let neg = self.eat_punct('-');
        let tok = self.next()?;
        Ok(match tok {
            Tok::Int(v) => Opnd::Int(if neg { v.wrapping_neg() } else { v }),
            Tok::F32(b) => Opnd::F32(if neg { b ^ 0x8000_0000 } else { b }),
            Tok::F64(b) => Opnd::F64(if neg { b ^ (1 << 63) } else { b }),
            _ if neg => {
                self.pos -= 1;
                return self.err("unexpected `-`");
            }
            Tok::Ident(s) if s == "_" => Opnd::Sink,
            Tok::Ident(s) => {
                if self.eat_punct('|') {
                    let q = self.ident()?;
                    Opnd::Pair(s, q)
                } else {
                    Opnd::Name(s)
                }
            }
            Tok::Punct('!') => Opnd::Not(self.ident()?),
            Tok::Punct('[') => {
                let mut base = None;
                let mut off: i64 = 0;
                match self.peek().cloned() {
                    Some(Tok::Ident(s)) => {
                        self.pos += 1;
                        base = Some(s);
                        if self.eat_punct('+') || self.is_punct('-') {
                            off = self.int()? as i64;
                        }
                    }
                    _ => off = self.int()? as i64,
                }
                self.expect_punct(']')?;
                Opnd::Addr { base, off }
            }
            Tok::Punct('{') => {
                let mut v = vec![];
                loop {
                    v.push(self.operand(depth + 1)?);
                    if self.eat_punct('}') {
                        break;
                    }
                    self.expect_punct(',')?;
                }
                Opnd::Vec(v)
            }
            Tok::Punct('(') => {
                let mut v = vec![];
                if !self.eat_punct(')') {
                    loop {
                        v.push(self.operand(depth + 1)?);
                        if self.eat_punct(')') {
                            break;
                        }
                        self.expect_punct(',')?;
                    }
                }
                Opnd::List(v)
            }
            t => {
                self.pos -= 1;
                return self.err(format!("unexpected {t:?} in operand"));
            }
        })
    }
}
