//! Batched GEMM on our tiled kernel (`kernels/cuda/gemm.cu`). Transposes are strides: an
//! operand whose columns are contiguous is passed as is, one whose rows are contiguous as
//! transposed; only views the kernel cannot address (mixed strides) are gathered first.

use kernels::ptx::{gemm, Module};

use super::{copy, scalar_arg, Arg, CudaDevice, CudaStorage, LaunchShape};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::shape::Layout;

/// One operand as the kernel addresses it: element (i, k) of the m x k matrix `op(A[b])` is
/// `ptr[b * batch_stride + i * ld + k]`, or `ptr[b * batch_stride + k * ld + i]` when `trans`.
#[derive(Debug)]
pub struct Operand {
    pub ptr: u64,
    pub ld: usize,
    pub batch_stride: usize,
    pub trans: bool,
    /// A gathered copy, kept alive until the launch is queued.
    _copy: Option<CudaStorage>,
}

impl Operand {
    /// A plain operand at `ptr`.
    pub fn new(ptr: u64, ld: usize, batch_stride: usize, trans: bool) -> Operand {
        Operand {
            ptr,
            ld,
            batch_stride,
            trans,
            _copy: None,
        }
    }
}

/// `C[b] = op(A[b]) op(B[b])` (`m x k` times `k x n`) for `b < batch`, into the dense
/// `C[b]` at `c + b * m * n` (row stride `n`).
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    dev: &CudaDevice,
    dtype: DType,
    (m, n, k): (usize, usize, usize),
    a: &Operand,
    b: &Operand,
    c: u64,
    batch: usize,
) -> Result<()> {
    if batch * m * n == 0 {
        return Ok(());
    }
    let int = |v: usize| {
        i32::try_from(v)
            .map(Arg::I32)
            .map_err(|_| Error::shape("matmul", format!("size {v} exceeds i32")))
    };
    let args = [
        int(m)?,
        int(n)?,
        int(k)?,
        scalar_arg(dtype, 1.0),
        Arg::Ptr(a.ptr),
        int(a.ld)?,
        Arg::U64(a.batch_stride as u64),
        Arg::I32(a.trans as i32),
        Arg::Ptr(b.ptr),
        int(b.ld)?,
        Arg::U64(b.batch_stride as u64),
        Arg::I32(b.trans as i32),
        scalar_arg(dtype, 0.0),
        Arg::Ptr(c),
        int(n)?,
        Arg::U64((m * n) as u64),
        int(batch)?,
    ];
    let tile = gemm::SGEMM_TILE as usize;
    let shape = LaunchShape {
        grid: (
            n.div_ceil(tile).min(65535) as u32,
            m.div_ceil(tile).min(65535) as u32,
            batch.min(65535) as u32,
        ),
        block: gemm::SGEMM_BLOCK,
        shared_bytes: 0,
    };
    let entry = match dtype {
        DType::F32 => gemm::SGEMM_F32,
        DType::F64 => gemm::GEMM_F64,
    };
    dev.launch(Module::Gemm, entry, shape, &args)
}

/// The single stride that steps through the flattened batch dims, if there is one.
fn batch_stride(l: &Layout) -> Option<usize> {
    let r = l.shape.rank();
    let (dims, strides) = (&l.dims()[..r - 2], &l.strides[..r - 2]);
    let live: Vec<(usize, usize)> = dims
        .iter()
        .zip(strides)
        .filter(|(&d, _)| d != 1)
        .map(|(&d, &s)| (d, s))
        .collect();
    match live.as_slice() {
        [] => Some(0),
        [.., (_, last)] => live
            .windows(2)
            .all(|w| w[0].1 == w[1].1 * w[1].0)
            .then_some(*last),
    }
}

fn operand(s: &CudaStorage, l: &Layout) -> Result<Operand> {
    let r = l.shape.rank();
    let (rows, cols) = (l.dims()[r - 2], l.dims()[r - 1]);
    let (rs, cs) = (l.strides[r - 2], l.strides[r - 1]);
    let direct = match batch_stride(l) {
        Some(bs) if cs == 1 || cols == 1 => Some((rs.max(cols), bs, 0)),
        Some(bs) if rs == 1 || rows == 1 => Some((cs.max(rows), bs, 1)),
        _ => None,
    };
    match direct {
        Some((ld, bs, trans)) => Ok(Operand::new(s.ptr_at(l.offset), ld, bs, trans == 1)),
        None => {
            let c = copy::contiguous(s, l)?;
            Ok(Operand {
                ptr: c.ptr(),
                ld: cols,
                batch_stride: rows * cols,
                trans: false,
                _copy: Some(c),
            })
        }
    }
}

/// `C[b] = A[b] B[b]` for broadcast layouts `[batch.., m, k]` and `[batch.., k, n]`, into a
/// dense `batch x m x n`.
pub fn batched(
    (a, la): (&CudaStorage, &Layout),
    (b, lb): (&CudaStorage, &Layout),
    m: usize,
    k: usize,
    n: usize,
) -> Result<CudaStorage> {
    let r = la.shape.rank();
    let batch: usize = la.dims()[..r - 2].iter().product();
    let dev = a.cuda_device();
    let out = CudaStorage::uninit(dev, batch * m * n, a.dtype())?;
    let (oa, ob) = (operand(a, la)?, operand(b, lb)?);
    gemm(dev, a.dtype(), (m, n, k), &oa, &ob, out.ptr(), batch)?;
    Ok(out)
}
