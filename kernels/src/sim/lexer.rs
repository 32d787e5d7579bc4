//! Tokenizer for PTX text. Keeps the source line of every token for error messages.

use super::error::SimError;

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// Identifiers, opcodes with their `.modifiers`, directives (`.reg`), `%regs`, `$labels`.
    Ident(String),
    /// Integer literal (decimal, hex, octal, binary), as its 64-bit pattern.
    Int(u64),
    /// `0fXXXXXXXX`: f32 bit pattern.
    F32(u32),
    /// `0dXXXXXXXXXXXXXXXX` or a decimal float: f64 bit pattern.
    F64(u64),
    /// String literal (only in directives we skip).
    Str(String),
    /// Punctuation: , ; : { } [ ] ( ) + - ! @ | < > =
    Punct(char),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub line: usize,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c == b'%' || c == b'.'
}
fn is_ident_cont(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c == b'.'
}

fn err(lines: &[&str], line: usize, msg: String) -> SimError {
    SimError::Parse {
        line,
        text: lines.get(line.wrapping_sub(1)).unwrap_or(&"").to_string(),
        msg,
    }
}

/// Split PTX text into tokens. Comments (`//`, `/* */`) are dropped.
pub fn tokenize(src: &str) -> Result<Vec<Token>, SimError> {
    let lines: Vec<&str> = src.lines().collect();
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(src.len() / 4);
    let mut i = 0;
    let mut line = 1usize;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let start = line;
            i += 2;
            loop {
                if i + 1 >= b.len() {
                    return Err(err(&lines, start, "unterminated comment".into()));
                }
                if b[i] == b'*' && b[i + 1] == b'/' {
                    i += 2;
                    break;
                }
                if b[i] == b'\n' {
                    line += 1;
                }
                i += 1;
            }
            continue;
        }
        if c == b'"' {
            let s = i + 1;
            i += 1;
            while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                i += 1;
            }
            if i >= b.len() || b[i] != b'"' {
                return Err(err(&lines, line, "unterminated string".into()));
            }
            let text = String::from_utf8_lossy(&b[s..i]).into_owned();
            i += 1;
            out.push(Token {
                tok: Tok::Str(text),
                line,
            });
            continue;
        }
        if c.is_ascii_digit() {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                // stop a decimal before `.` followed by a non-digit (never in PTX, but safe)
                i += 1;
            }
            // exponent sign of a decimal float: 1e-5
            if i < b.len()
                && (b[i] == b'-' || b[i] == b'+')
                && i > s
                && (b[i - 1] == b'e' || b[i - 1] == b'E')
            {
                let t = &src[s..i];
                if !t.starts_with("0x")
                    && !t.starts_with("0X")
                    && !t.starts_with("0f")
                    && !t.starts_with("0d")
                {
                    i += 1;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let text = &src[s..i];
            let tok = parse_number(text)
                .ok_or_else(|| err(&lines, line, format!("bad number `{text}`")))?;
            out.push(Token { tok, line });
            continue;
        }
        if is_ident_start(c) {
            let s = i;
            i += 1;
            loop {
                if i < b.len() && is_ident_cont(b[i]) {
                    i += 1;
                } else if i + 2 < b.len()
                    && b[i] == b':'
                    && b[i + 1] == b':'
                    && is_ident_cont(b[i + 2])
                {
                    i += 2; // .L1::evict_last style qualifiers
                } else {
                    break;
                }
            }
            out.push(Token {
                tok: Tok::Ident(src[s..i].to_string()),
                line,
            });
            continue;
        }
        match c {
            b',' | b';' | b':' | b'{' | b'}' | b'[' | b']' | b'(' | b')' | b'+' | b'-' | b'!'
            | b'@' | b'|' | b'<' | b'>' | b'=' => {
                out.push(Token {
                    tok: Tok::Punct(c as char),
                    line,
                });
                i += 1;
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(err(&lines, line, format!("unexpected character `{ch}`")));
            }
        }
    }
    Ok(out)
}

fn parse_number(t: &str) -> Option<Tok> {
    let t2 = t
        .strip_suffix('U')
        .or_else(|| t.strip_suffix('u'))
        .unwrap_or(t);
    if let Some(h) = t.strip_prefix("0f").or_else(|| t.strip_prefix("0F")) {
        if h.len() == 8 {
            return u32::from_str_radix(h, 16).ok().map(Tok::F32);
        }
        return None;
    }
    if let Some(h) = t.strip_prefix("0d").or_else(|| t.strip_prefix("0D")) {
        if h.len() == 16 {
            return u64::from_str_radix(h, 16).ok().map(Tok::F64);
        }
        return None;
    }
    if let Some(h) = t2.strip_prefix("0x").or_else(|| t2.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok().map(Tok::Int);
    }
    if let Some(h) = t2.strip_prefix("0b").or_else(|| t2.strip_prefix("0B")) {
        return u64::from_str_radix(h, 2).ok().map(Tok::Int);
    }
    if t.contains('.') || t.contains('e') || t.contains('E') {
        return t.parse::<f64>().ok().map(|v| Tok::F64(v.to_bits()));
    }
    if t2.len() > 1 && t2.starts_with('0') {
        return u64::from_str_radix(&t2[1..], 8).ok().map(Tok::Int);
    }
    t2.parse::<u64>().ok().map(Tok::Int)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn numbers_and_idents() {
        let t = tokenize(
            "ld.global.nc.f32 %f1, [%rd2+-4]; mov.f32 %f2, 0f3F800000; // x\n@!%p1 bra $L__BB0_2;",
        )
        .unwrap();
        assert_eq!(t[0].tok, Tok::Ident("ld.global.nc.f32".into()));
        assert!(t.iter().any(|x| x.tok == Tok::F32(0x3F800000)));
        assert_eq!(t.last().unwrap().line, 2);
        assert_eq!(parse_number("0xFFFFFFFF"), Some(Tok::Int(0xFFFF_FFFF)));
        assert_eq!(parse_number("010"), Some(Tok::Int(8)));
        assert!(tokenize("a /* unterminated").is_err());
        assert!(tokenize("mov.u32 %r1, 0fXYZ;").is_err());
    }
}
