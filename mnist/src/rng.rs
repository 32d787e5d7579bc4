//! The data pipeline's randomness: the engine's Philox [`Rng`], with streams named by
//! key lists ([`Rng::from_keys`]: seed, epoch, sample index) so that a sample's
//! augmentation does not depend on batching and every run is reproducible.

pub use engine::Rng;

/// `0..n` in an order fixed by `keys`.
pub fn permutation(n: usize, keys: &[u64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    Rng::from_keys(keys).shuffle(&mut idx);
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_permutation_and_deterministic() {
        let p = permutation(1000, &[1, 2]);
        let mut s = p.clone();
        s.sort_unstable();
        assert_eq!(s, (0..1000).collect::<Vec<_>>());
        assert_eq!(p, permutation(1000, &[1, 2]));
        assert_ne!(p, permutation(1000, &[1, 3]));
    }
}
