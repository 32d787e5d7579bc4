//! Dropout mask kernel: element `i` is kept iff `rng::uniform_at(seed, offset, i) >= p`
//! (compared in f32, as the CUDA kernel does).
//! One Philox block yields the four words of an aligned group of four elements (the
//! words `uniform_at` picks one at a time), and eight blocks are computed together in
//! struct-of-arrays form so the rounds vectorize. The mask is never stored: the backward
//! replays it. `tests/tests/gradcheck_norm_loss.rs` checks it against `uniform_at`.

use super::norm::par_build;
use super::PAR_CHUNK;
use kernels::philox::{self, DropoutRule};

use crate::dtype::{DType, Float};

/// Blocks computed together.
const LANES: usize = 8;
/// Elements covered by one batch of blocks.
const GROUP: usize = 4 * LANES;

/// Philox4x32-10 of counters `first, first + 1, ..., first + 7` (high words 0) under
/// `key`: `out[w][l]` is word `w` of block `first + l`, bit-identical to `rng::philox4x32`.
// Indexing lanes explicitly keeps the struct-of-arrays shape the vectorizer needs.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn philox_x8(first: u64, key: [u32; 2]) -> [[u32; LANES]; 4] {
    let mut c = [[0u32; LANES]; 4];
    for l in 0..LANES {
        let b = first.wrapping_add(l as u64);
        c[0][l] = b as u32;
        c[1][l] = (b >> 32) as u32;
    }
    let [mut k0, mut k1] = key;
    for _ in 0..10 {
        let mut n = [[0u32; LANES]; 4];
        for l in 0..LANES {
            // The shared scalar round, per lane: inlined, the lanes vectorize.
            let w = philox::round([c[0][l], c[1][l], c[2][l], c[3][l]], k0, k1);
            for (n, w) in n.iter_mut().zip(w) {
                n[l] = w;
            }
        }
        c = n;
        k0 = k0.wrapping_add(philox::W0);
        k1 = k1.wrapping_add(philox::W1);
    }
    c
}

/// `x[i] * mask[i]`, the mask being `1 / (1 - p)` where element `i` survives and 0
/// elsewhere (so NaN stays NaN, like PyTorch). `p` must be in `[0, 1)`. Keep rule and
/// f32 scale are the CUDA kernel's ([`DropoutRule`], computed in f32); f64 tensors
/// keep the same elements and scale by `1 / (1 - p)` in f64.
pub fn dropout<F: Float>(x: &[F], p: f64, seed: u64, offset: u64) -> Vec<F> {
    let rule = DropoutRule::new(p as f32);
    let mask = Mask {
        threshold: rule.threshold,
        scale: match F::DTYPE {
            DType::F32 => F::from_f64(rule.scale as f64),
            DType::F64 => F::from_f64(1.0 / (1.0 - p)),
        },
        key: philox::key(seed),
        offset,
    };
    // PAR_CHUNK is a multiple of GROUP, so every task starts on a block boundary.
    par_build(x.len(), PAR_CHUNK, |t, o| {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { fill_avx2(t, o, x, &mask) };
        }
        fill(t, o, x, &mask)
    })
}

/// One dropout call's mask: keep threshold on the word's 24 high bits, scale, stream.
struct Mask<F> {
    threshold: u32,
    scale: F,
    key: [u32; 2],
    offset: u64,
}

/// [`fill`] compiled with AVX2, where the eight Philox lanes vectorize (`vpmuludq`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fill_avx2<F: Float>(t: usize, o: &mut [F], x: &[F], mask: &Mask<F>) {
    fill(t, o, x, mask)
}

/// Task `t`'s slice of the output (elements `t * PAR_CHUNK ..`).
#[inline(always)]
fn fill<F: Float>(t: usize, o: &mut [F], x: &[F], mask: &Mask<F>) {
    let x = &x[t * PAR_CHUNK..t * PAR_CHUNK + o.len()];
    let first_block = (t * PAR_CHUNK / 4) as u64;
    for (g, (o, x)) in o.chunks_mut(GROUP).zip(x.chunks(GROUP)).enumerate() {
        let block = first_block + (g * LANES) as u64;
        let w = philox_x8(mask.offset.wrapping_add(block), mask.key);
        // Element 4l + k of the group takes word k of block l.
        let mut m = [F::ZERO; GROUP];
        for l in 0..LANES {
            for k in 0..4 {
                if (w[k][l] >> 8) >= mask.threshold {
                    m[4 * l + k] = mask.scale;
                }
            }
        }
        for ((o, &x), &m) in o.iter_mut().zip(x).zip(&m) {
            *o = x * m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn batched_philox_matches_rng() {
        for first in [0u64, 5, u32::MAX as u64 - 3, u64::MAX - 2] {
            let w = philox_x8(first, [0x1234_5678, 0x9abc_def0]);
            for l in 0..LANES {
                let b = first.wrapping_add(l as u64);
                let want = philox::philox4x32_10(
                    [b as u32, (b >> 32) as u32, 0, 0],
                    [0x1234_5678, 0x9abc_def0],
                );
                for k in 0..4 {
                    assert_eq!(w[k][l], want[k]);
                }
            }
        }
    }
}
