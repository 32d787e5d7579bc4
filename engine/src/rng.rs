//! Philox4x32-10, a counter-based generator: the value at (seed, offset) is a pure
//! function of both, so dropout masks can be replayed and GPU kernels can reproduce the
//! CPU stream. [`Rng`] walks the counter sequentially for everything else.

pub use kernels::philox::philox4x32_10 as philox4x32;

/// A uniform f32 in [0, 1) for element `index` of the stream `(seed, offset)`.
/// Each Philox call yields four values; element i uses word i % 4 of block i / 4
/// (the layout of the CUDA kernels, whose host reference is [`kernels::philox`]).
pub fn uniform_at(seed: u64, offset: u64, index: u64) -> f32 {
    let words = kernels::philox::block(seed, offset.wrapping_add(index / 4));
    kernels::philox::unit_f32(words[(index % 4) as usize])
}

/// A seeded generator for initialisation, shuffling and noise.
#[derive(Clone, Debug)]
pub struct Rng {
    seed: u64,
    counter: u64,
    buffer: [u32; 4],
    used: usize,
    spare_normal: Option<f64>,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng {
            seed,
            counter: 0,
            buffer: [0; 4],
            used: 4,
            spare_normal: None,
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn next_u32(&mut self) -> u32 {
        if self.used == 4 {
            let c = self.counter;
            self.buffer = philox4x32(
                [c as u32, (c >> 32) as u32, 0x5eed, 0],
                kernels::philox::key(self.seed),
            );
            self.counter += 1;
            self.used = 0;
        }
        self.used += 1;
        self.buffer[self.used - 1]
    }

    pub fn next_u64(&mut self) -> u64 {
        ((self.next_u32() as u64) << 32) | self.next_u32() as u64
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box-Muller, caching the second value).
    pub fn normal(&mut self) -> f64 {
        if let Some(v) = self.spare_normal.take() {
            return v;
        }
        let u1 = 1.0 - self.uniform(); // (0, 1]: ln is finite
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = 2.0 * std::f64::consts::PI * u2;
        self.spare_normal = Some(r * theta.sin());
        r * theta.cos()
    }

    /// Uniform integer in `0..n` (n > 0), without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Rng::below(0)");
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % n;
            }
        }
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// A generator for the stream named by `keys` (e.g. `[seed, epoch, sample]`): each
    /// key is absorbed through one Philox block, so different key lists give unrelated
    /// streams and a sample's stream does not depend on how the data was batched.
    pub fn from_keys(keys: &[u64]) -> Rng {
        let seed = keys.iter().fold(0x6A09_E667_F3BC_C908u64, |acc, &k| {
            let w = philox4x32(
                [k as u32, (k >> 32) as u32, 0xF01D, 0],
                kernels::philox::key(acc),
            );
            ((w[0] as u64) << 32) | w[1] as u64
        });
        Rng::new(seed)
    }

    /// Uniform f32 in `[lo, hi)` from 24 random bits.
    pub fn uniform_f32(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * kernels::philox::unit_f32(self.next_u32())
    }

    /// A fresh seed drawn from this generator (for dropout streams and child generators).
    pub fn fork_seed(&mut self) -> u64 {
        self.next_u64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_streams_are_deterministic_and_distinct() {
        let draw = |keys: &[u64]| Rng::from_keys(keys).next_u64();
        assert_eq!(draw(&[1, 2]), draw(&[1, 2]));
        assert_ne!(draw(&[1, 2]), draw(&[1, 3]));
        assert_ne!(draw(&[1, 2]), draw(&[2, 1]));
        assert_ne!(draw(&[0]), draw(&[0, 0]));
        let mut r = Rng::from_keys(&[9]);
        assert!((0..1000).all(|_| (-1.0..1.0).contains(&r.uniform_f32(-1.0, 1.0))));
    }

    #[test]
    fn uniform_and_normal_moments() {
        let mut rng = Rng::new(7);
        let n = 200_000;
        let u: Vec<f64> = (0..n).map(|_| rng.uniform()).collect();
        let mean = u.iter().sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.005, "uniform mean {mean}");
        let z: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let m = z.iter().sum::<f64>() / n as f64;
        let var = z.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n as f64;
        assert!(
            m.abs() < 0.01 && (var - 1.0).abs() < 0.02,
            "normal {m} {var}"
        );
    }

    #[test]
    fn uniform_at_is_pure() {
        assert_eq!(uniform_at(3, 10, 5), uniform_at(3, 10, 5));
        assert_ne!(uniform_at(3, 10, 5), uniform_at(4, 10, 5));
        assert!((0..1000).all(|i| (0.0..1.0).contains(&uniform_at(1, 0, i))));
    }
}
