//! Generic mutations: bit flips, byte edits, inserts and deletes, interesting integers
//! written over fields, truncation, splicing with another corpus entry, and text-level
//! edits (numbers replaced by edge values, lines dropped or repeated, tokens from the
//! corpus inserted) for the text formats.

/// xorshift64*: fast, seedable, good enough to drive mutations.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Integers that break size arithmetic: zero, one, sign and width boundaries.
pub const INTERESTING: [u64; 16] = [
    0,
    1,
    2,
    7,
    28,
    255,
    256,
    0x7fff,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    u64::MAX,
];

/// The same values as text, plus ones only text can say.
pub const INTERESTING_TEXT: [&str; 12] = [
    "-1",
    "1e308",
    "-0",
    "NaN",
    "inf",
    "4294967296",
    "18446744073709551616",
    "99999999999999999999999999",
    "0x7fffffff",
    "1.5",
    "",
    "\"",
];

/// Writes `v` as `width` bytes (1, 2, 4 or 8), big- or little-endian, at `at`.
pub fn write_int(data: &mut [u8], at: usize, v: u64, width: usize, big: bool) {
    let bytes = if big {
        v.to_be_bytes()[8 - width..].to_vec()
    } else {
        v.to_le_bytes()[..width].to_vec()
    };
    for (i, b) in bytes.into_iter().enumerate() {
        if let Some(slot) = data.get_mut(at + i) {
            *slot = b;
        }
    }
}

/// One random byte-level edit of `data`; `other` is a corpus entry to splice from.
pub fn byte_edit(data: &mut Vec<u8>, other: &[u8], rng: &mut Rng) {
    let len = data.len();
    let at = if len == 0 { 0 } else { rng.below(len) };
    match rng.below(10) {
        0 if len > 0 => data[at] ^= 1 << rng.below(8),
        1 if len > 0 => data[at] = rng.next_u64() as u8,
        2 if len > 0 => data[at] = *rng.pick(&[0u8, 1, 0x7f, 0x80, 0xff]),
        3 => {
            let n = 1 + rng.below(16);
            let fill: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            data.splice(at..at, fill);
        }
        4 if len > 0 => {
            let n = 1 + rng.below((len - at).min(64));
            data.drain(at..at + n);
        }
        5 => {
            let width = *rng.pick(&[1usize, 2, 4, 8]);
            let v = *rng.pick(&INTERESTING);
            let v = if rng.chance(4) {
                v.wrapping_add(rng.below(3) as u64).wrapping_sub(1)
            } else {
                v
            };
            write_int(data, at, v, width, rng.chance(2));
        }
        6 => data.truncate(at),
        7 if !other.is_empty() => {
            // Splice: our head with the other's tail.
            let from = rng.below(other.len());
            data.truncate(at);
            data.extend_from_slice(&other[from..]);
        }
        8 if len > 0 => {
            // Repeat a chunk (loops, repeated fields).
            let n = 1 + rng.below((len - at).min(256));
            let chunk = data[at..at + n].to_vec();
            data.splice(at..at, chunk);
        }
        _ if len > 1 => {
            let (i, j) = (rng.below(len), rng.below(len));
            data.swap(i, j);
        }
        _ => data.push(rng.next_u64() as u8),
    }
}

/// Byte range of a random token (a run of letters/digits/`._%$`) in `text`.
fn random_token(text: &[u8], rng: &mut Rng) -> Option<(usize, usize)> {
    if text.is_empty() {
        return None;
    }
    let word = |b: u8| b.is_ascii_alphanumeric() || b"._%$-".contains(&b);
    let mut i = rng.below(text.len());
    while i < text.len() && !word(text[i]) {
        i += 1;
    }
    if i == text.len() {
        return None;
    }
    let mut start = i;
    while start > 0 && word(text[start - 1]) {
        start -= 1;
    }
    let mut end = i;
    while end < text.len() && word(text[end]) {
        end += 1;
    }
    Some((start, end))
}

/// Line ranges (without the newline) of `text`.
fn lines(text: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        if b == b'\n' {
            out.push((start, i));
            start = i + 1;
        }
    }
    out.push((start, text.len()));
    out
}

/// One random text-level edit: number to edge value, token replaced by one from `other`,
/// a line dropped, repeated or swapped, a token repeated.
pub fn text_edit(data: &mut Vec<u8>, other: &[u8], rng: &mut Rng) {
    match rng.below(6) {
        0 | 1 => {
            // Replace a token (a number, a name, a keyword) with an edge value or a token
            // from the other corpus entry.
            let Some((s, e)) = random_token(data, rng) else {
                return byte_edit(data, other, rng);
            };
            let new: Vec<u8> = if rng.chance(2) {
                match rng.below(2) {
                    0 => rng.pick(&INTERESTING).to_string().into_bytes(),
                    _ => rng.pick(&INTERESTING_TEXT).as_bytes().to_vec(),
                }
            } else {
                match random_token(other, rng) {
                    Some((a, b)) => other[a..b].to_vec(),
                    None => Vec::new(),
                }
            };
            data.splice(s..e, new);
        }
        2 => {
            let ls = lines(data);
            let (s, e) = *rng.pick(&ls);
            data.drain(s..(e + 1).min(data.len()));
        }
        3 => {
            let ls = lines(data);
            let (s, e) = *rng.pick(&ls);
            let mut line = data[s..e].to_vec();
            line.push(b'\n');
            let (at, _) = *rng.pick(&ls);
            data.splice(at..at, line);
        }
        4 => {
            // A line of the other entry, inserted anywhere (new statements, keys).
            let ls = lines(other);
            let (s, e) = *rng.pick(&ls);
            let mut line = other[s..e].to_vec();
            line.push(b'\n');
            let ours = lines(data);
            let (at, _) = *rng.pick(&ours);
            data.splice(at..at, line);
        }
        _ => byte_edit(data, other, rng),
    }
}
