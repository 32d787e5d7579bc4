//! Dropout with a counter-based mask: the mask is a pure function of `(seed, offset)`
//! and the element index, so the backward replays it instead of storing it, and the
//! same `(seed, offset)` gives the same mask on any backend.

use crate::autograd::{record, BackwardOp};
use crate::backend::cpu;
use crate::cpu_map;
use crate::device::Storage;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

impl Tensor {
    /// Zeroes each element with probability `p` and scales the rest by `1 / (1 - p)` when
    /// `training`; identity otherwise. The mask is a pure function of `(seed, offset)`.
    pub fn dropout(&self, p: f64, training: bool, seed: u64, offset: u64) -> Result<Tensor> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::argument(
                "dropout",
                format!("probability must be in [0, 1), got {p}"),
            ));
        }
        if !training || p == 0.0 {
            return Ok(self.clone());
        }
        let x = self.contiguous()?;
        let y = apply_mask(&x, p, seed, offset)?;
        Ok(record(y, &[&x], || DropoutBackward { p, seed, offset }))
    }
}

/// `x` (dense) times the replayable mask, scaled.
fn apply_mask(x: &Tensor, p: f64, seed: u64, offset: u64) -> Result<Tensor> {
    let range = x.dense_range();
    let storage = match &*x.read_storage() {
        Storage::Cpu(s) => Storage::Cpu(cpu_map!(s, |v: F| cpu::dropout::dropout(
            &v[range.clone()],
            p,
            seed,
            offset
        ))),
        Storage::Cuda(s) => Storage::Cuda(crate::backend::cuda::dropout::dropout(
            s,
            range.start,
            range.len(),
            p,
            (seed, offset),
        )?),
    };
    Tensor::from_storage(storage, x.shape())
}

struct DropoutBackward {
    p: f64,
    seed: u64,
    offset: u64,
}

impl BackwardOp for DropoutBackward {
    fn name(&self) -> &'static str {
        "dropout"
    }
    /// The same mask and scale applied to the gradient.
    fn backward(&self, _inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let g = g.contiguous()?;
        Ok(vec![Some(apply_mask(&g, self.p, self.seed, self.offset)?)])
    }
}
