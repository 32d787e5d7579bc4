//! Which SIMD kernels this CPU runs, chosen once at run time with
//! `is_x86_feature_detected!`. `ENGINE_CPU_KERNEL=avx512|avx2|portable` forces a path
//! (never one the CPU lacks), so benchmarks and tests can compare the paths on one machine.

use std::sync::OnceLock;

/// A family of CPU kernels, widest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// AVX-512F (16 f32 lanes, 32 registers) with FMA.
    Avx512,
    /// AVX2 with FMA (8 f32 lanes, 16 registers).
    Avx2,
    /// Plain Rust and `matrixmultiply`: any CPU.
    Portable,
}

impl Isa {
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
            Isa::Portable => "portable",
        }
    }

    /// Whether this CPU can run the kernels of `self`.
    pub fn supported(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx512 | Isa::Avx2 => false,
            Isa::Portable => true,
        }
    }

    /// Every path this CPU can run, widest first (what the tests compare).
    pub fn available() -> Vec<Isa> {
        [Isa::Avx512, Isa::Avx2, Isa::Portable]
            .into_iter()
            .filter(|i| i.supported())
            .collect()
    }
}

/// The path the engine uses: the widest supported one, or the one `ENGINE_CPU_KERNEL`
/// names when this CPU supports it.
pub fn isa() -> Isa {
    static CHOICE: OnceLock<Isa> = OnceLock::new();
    *CHOICE.get_or_init(|| {
        let widest = Isa::available()[0];
        match std::env::var("ENGINE_CPU_KERNEL").as_deref() {
            Ok("avx512") if Isa::Avx512.supported() => Isa::Avx512,
            Ok("avx2") if Isa::Avx2.supported() => Isa::Avx2,
            Ok("portable") => Isa::Portable,
            _ => widest,
        }
    })
}
