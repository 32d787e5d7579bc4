//! The AVX-512 micro-kernel: 8 rows x 32 columns (two zmm per row), 16 accumulators.
//! Eight rows divide every channel count of the MNIST models (32, 64, 128, 288), so
//! few tiles fall on an edge; per depth step 2 loads of B and 8 broadcasts feed 16 FMAs.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mul_ps, _mm512_set1_ps, _mm512_setzero_ps,
    _mm512_storeu_ps,
};

#[cfg(target_arch = "x86_64")]
super::gemm_blocked::micro_kernel!(
    Avx512,
    "avx512f,fma",
    8,
    2,
    16,
    _mm512_setzero_ps,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_set1_ps,
    _mm512_mul_ps,
    _mm512_fmadd_ps
);
