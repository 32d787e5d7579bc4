//! Dropout mask kernel: element `i` is kept iff `rng::uniform_at(seed, offset, i) >= p`.
//! One Philox call yields the four words of an aligned group of four elements (the same
//! words `uniform_at` would pick one at a time), so the mask costs a quarter of a Philox
//! call per element and is never stored: the backward replays it.

use rayon::prelude::*;

use super::PAR_CHUNK;
use crate::dtype::Float;
use crate::rng::philox4x32;

/// `x[i] / (1 - p)` where element `i` survives, else 0. `p` must be in `[0, 1)`.
pub fn dropout<F: Float>(x: &[F], p: f64, seed: u64, offset: u64) -> Vec<F> {
    // uniform_at = (w >> 8) / 2^24, so `u >= p` iff `(w >> 8) >= ceil(p * 2^24)` (exact).
    let threshold = (p * 16_777_216.0).ceil() as u32;
    let scale = F::from_f64(1.0 / (1.0 - p));
    let key = [seed as u32, (seed >> 32) as u32];
    let mut out = vec![F::ZERO; x.len()];
    // PAR_CHUNK is a multiple of 4, so every task starts on a Philox block boundary.
    out.par_chunks_mut(PAR_CHUNK)
        .zip(x.par_chunks(PAR_CHUNK))
        .enumerate()
        .for_each(|(t, (o, x))| {
            let first_block = (t * PAR_CHUNK / 4) as u64;
            for (j, (o, x)) in o.chunks_mut(4).zip(x.chunks(4)).enumerate() {
                let block = offset.wrapping_add(first_block + j as u64);
                let w = philox4x32([block as u32, (block >> 32) as u32, 0, 0], key);
                for k in 0..o.len() {
                    o[k] = if (w[k] >> 8) >= threshold {
                        x[k] * scale
                    } else {
                        F::ZERO
                    };
                }
            }
        });
    out
}
