//! Layer normalization (`F.layer_norm`): each sample normalised over its last dims
//! (`normalized_shape`) with the biased variance and `eps` inside the square root, then the
//! optional elementwise affine `y = xhat * weight + bias`.
//!
//! The normalisation is one row kernel each way (CPU and CUDA), saving `xhat` and the
//! per-row `rstd`; with `D` values per row, `dx = rstd (dxhat - mean(dxhat) - xhat
//! mean(dxhat xhat))`. The affine part is the broadcasting `mul`/`add` (weight and bias have
//! the trailing shape), so their gradients are those ops' reductions.

use crate::autograd::{record, BackwardOp};
use crate::backend::{cpu, cuda};
use crate::cpu_with;
use crate::device::Storage;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::check_same;
use crate::tensor::{Reads, Tensor};

const OP: &str = "layer_norm";

impl Tensor {
    /// `F.layer_norm(x, normalized_shape, weight, bias, eps)`: the input's last dims must be
    /// `normalized_shape`; `weight` and `bias`, when given, have that shape.
    pub fn layer_norm(
        &self,
        normalized_shape: &[usize],
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        eps: f64,
    ) -> Result<Tensor> {
        let k = normalized_shape.len();
        if k == 0 || k > self.rank() || self.dims()[self.rank() - k..] != *normalized_shape {
            return Err(Error::shape(
                OP,
                format!(
                    "given normalized_shape {normalized_shape:?}, expected an input of shape [*, {}], got {:?}",
                    normalized_shape
                        .iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.shape()
                ),
            ));
        }
        if !(eps >= 0.0 && eps.is_finite()) {
            return Err(Error::argument(
                OP,
                format!("eps must be finite and >= 0, got {eps}"),
            ));
        }
        for (what, t) in [("weight", weight), ("bias", bias)] {
            let Some(t) = t else { continue };
            check_same(OP, self, t)?;
            if t.dims() != normalized_shape {
                return Err(Error::shape(
                    OP,
                    format!(
                        "{what} has shape {:?}, expected normalized_shape {normalized_shape:?}",
                        t.shape()
                    ),
                ));
            }
        }
        let xhat = self.layer_norm_rows(normalized_shape.iter().product(), eps)?;
        let y = match weight {
            Some(w) => xhat.mul(w)?,
            None => xhat,
        };
        match bias {
            Some(b) => y.add(b),
            None => Ok(y),
        }
    }

    /// `(x - mean) / sqrt(var + eps)` over each run of `cols` trailing elements.
    fn layer_norm_rows(&self, cols: usize, eps: f64) -> Result<Tensor> {
        let x = self.contiguous()?;
        if x.numel() == 0 {
            return x.mul_scalar(1.0);
        }
        let rows = x.numel() / cols;
        let range = x.dense_range();
        let (xhat, rstd) = match &*x.read_storage() {
            Storage::Cpu(s) => cpu_with!(s, |v: F| {
                let (xh, r) = cpu::layer_norm::forward(&v[range.clone()], cols, F::from_f64(eps));
                (
                    Storage::Cpu(F::into_storage(xh)),
                    Storage::Cpu(F::into_storage(r)),
                )
            }),
            Storage::Cuda(s) => {
                let (xh, r) = cuda::layer_norm::forward(s, range.start, (rows, cols), eps)?;
                (Storage::Cuda(xh), Storage::Cuda(r))
            }
        };
        let out = Tensor::from_storage(xhat, x.shape())?;
        let rstd = Tensor::from_storage(rstd, [rows])?;
        let saved = out.detach();
        Ok(record(out, &[&x], || LayerNormBackward {
            xhat: saved,
            rstd,
            cols,
        }))
    }
}

struct LayerNormBackward {
    xhat: Tensor,
    rstd: Tensor,
    cols: usize,
}

impl BackwardOp for LayerNormBackward {
    fn name(&self) -> &'static str {
        OP
    }
    fn backward(&self, inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let g = g.contiguous()?;
        let (xh, r) = (&self.xhat, &self.rstd);
        let rows = r.numel();
        let (rx, rr, rg) = (xh.dense_range(), r.dense_range(), g.dense_range());
        let reads = Reads::new(&[xh, r, &g]);
        let dx = match (reads.get(0), reads.get(1), reads.get(2)) {
            (Storage::Cpu(xs), Storage::Cpu(rs), Storage::Cpu(gs)) => {
                Storage::Cpu(crate::cpu_map2!(OP, xs, gs, |xv, gv: F| {
                    let rv = F::slice(rs)
                        .ok_or_else(|| Error::dtype(OP, "saved rstd has another dtype"))?;
                    cpu::layer_norm::backward(
                        &xv[rx.clone()],
                        &rv[rr.clone()],
                        &gv[rg.clone()],
                        self.cols,
                    )
                })?)
            }
            (Storage::Cuda(xs), Storage::Cuda(rs), Storage::Cuda(gs)) => {
                Storage::Cuda(cuda::layer_norm::backward(
                    (xs, rx.start),
                    (rs, rr.start),
                    (gs, rg.start),
                    (rows, self.cols),
                )?)
            }
            _ => return Err(crate::ops::mixed_devices(OP, xh, &g)),
        };
        Ok(vec![Some(Tensor::from_storage(dx, inputs[0].shape())?)])
    }
}
