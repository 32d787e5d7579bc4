//! Host reference of Philox4x32-10 (Salmon et al., SC'11), the generator of
//! `cuda/philox.cu`: the one implementation the engine's CPU stream, its dropout and the
//! kernel tests share, plus the dropout keep rule exactly as `dropout_fwd_f32` computes it.
//!
//! Stream layout (as in the kernels): word `j` of element block `g` under `(seed, offset)`
//! is word `j` of `philox4x32_10([lo(offset + g), hi(offset + g), 0, 0], [lo(seed), hi(seed)])`.

pub const M0: u32 = 0xD251_1F53;
pub const M1: u32 = 0xCD9E_8D57;
/// Weyl key increments: the golden ratio and sqrt(3) - 1.
pub const W0: u32 = 0x9E37_79B9;
pub const W1: u32 = 0xBB67_AE85;

/// One Philox round on counter words `c` under key words `(k0, k1)`. Scalar in, scalar
/// out, always inlined: the engine's eight-lane SIMD loop calls it per lane.
#[inline(always)]
pub fn round(c: [u32; 4], k0: u32, k1: u32) -> [u32; 4] {
    let p0 = (c[0] as u64) * (M0 as u64);
    let p1 = (c[2] as u64) * (M1 as u64);
    [
        ((p1 >> 32) as u32) ^ c[1] ^ k0,
        p1 as u32,
        ((p0 >> 32) as u32) ^ c[3] ^ k1,
        p0 as u32,
    ]
}

/// The four outputs of Philox4x32-10 for `counter` under `key`.
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut c, [mut k0, mut k1]) = (counter, key);
    for _ in 0..10 {
        c = round(c, k0, k1);
        k0 = k0.wrapping_add(W0);
        k1 = k1.wrapping_add(W1);
    }
    c
}

/// The key of a 64-bit seed.
#[inline(always)]
pub fn key(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// Block `block` of the stream of `seed` (the kernels' `philox_block`).
pub fn block(seed: u64, block: u64) -> [u32; 4] {
    philox4x32_10([block as u32, (block >> 32) as u32, 0, 0], key(seed))
}

/// The kernels' `u32_to_unit_f32`: the 24 high bits as an exact f32 in [0, 1).
#[inline(always)]
pub fn unit_f32(u: u32) -> f32 {
    (u >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// Dropout's keep rule and scale for drop probability `p`, computed as
/// `dropout_fwd_f32` does (in f32): element kept iff `unit_f32(w) >= p`, kept values
/// multiplied by `scale = 1 / (1 - p)` (0 when `p >= 1`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DropoutRule {
    /// Kept iff `(w >> 8) >= threshold`: exactly `unit_f32(w) >= p`, since
    /// `unit_f32(w) * 2^24` and `p * 2^24` are exact in f64.
    pub threshold: u32,
    pub scale: f32,
}

impl DropoutRule {
    pub fn new(p: f32) -> DropoutRule {
        let t = (p as f64 * 16_777_216.0).ceil().clamp(0.0, 16_777_216.0);
        DropoutRule {
            threshold: t as u32,
            scale: if p < 1.0 { 1.0 / (1.0 - p) } else { 0.0 },
        }
    }
    /// Whether word `w` keeps its element.
    #[inline(always)]
    pub fn keeps(&self, w: u32) -> bool {
        (w >> 8) >= self.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_is_the_f32_comparison() {
        for p in [0.0f32, 1e-9, 0.1, 0.45, 0.5, 0.7, 0.999_999_9, 1.0] {
            let rule = DropoutRule::new(p);
            // Words just either side of the threshold, and the extremes.
            let t = rule.threshold as u64;
            for hi in [0, t.saturating_sub(1), t, t + 1, (1 << 24) - 1] {
                let w = (hi.min((1 << 24) - 1) as u32) << 8 | 0xAB;
                assert_eq!(rule.keeps(w), unit_f32(w) >= p, "p {p}, w {w:#x}");
            }
        }
    }
}
