//! 2-D convolution (NCHW, weight OIHW) with stride, padding, dilation and groups:
//! validation, dispatch to the CPU kernels in `backend/cpu/conv.rs` (im2col + GEMM),
//! and the backward node, which computes only the gradients whose inputs need them.

use crate::autograd::{record, BackwardOp};
use crate::backend::cpu;
use crate::backend::cpu::conv::ConvGeom;
use crate::backend::cuda::{self, CudaStorage};
use crate::device::{CpuStorage, Storage};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::{check_rank, check_same};
use crate::tensor::{Reads, Tensor};

/// Geometry of a 2-D convolution, as in `torch.nn.functional.conv2d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dParams {
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
    pub groups: usize,
}

impl Default for Conv2dParams {
    fn default() -> Self {
        Conv2dParams {
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
            groups: 1,
        }
    }
}

impl Tensor {
    /// `input (N, C_in, H, W)` convolved with `weight (C_out, C_in / groups, kH, kW)`, plus `bias (C_out)`.
    ///
    /// Output `(N, C_out, OH, OW)` with `OH = (H + 2 pad - dil (kH - 1) - 1) / stride + 1`.
    pub fn conv2d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        params: Conv2dParams,
    ) -> Result<Tensor> {
        let geom = conv_geom(self, weight, bias, params)?;
        let x = self.contiguous()?;
        let w = weight.contiguous()?;
        let b = bias.map(|b| b.contiguous()).transpose()?;
        let storage = {
            let mut held = vec![&x, &w];
            held.extend(&b);
            let reads = Reads::new(&held);
            match (reads.get(0), reads.get(1)) {
                (Storage::Cpu(xc), Storage::Cpu(wc)) => {
                    let bc = b.is_some().then(|| match reads.get(2) {
                        Storage::Cpu(bc) => Ok(bc),
                        Storage::Cuda(_) => {
                            Err(Error::device("conv2d", "bias on the GPU, input on the CPU"))
                        }
                    });
                    let bc = bc.transpose()?;
                    Storage::Cpu(crate::cpu_map!(xc, |xv: F| {
                        let wv = &typed::<F>(wc, "conv2d")?[w.dense_range()];
                        let bv = match (bc, &b) {
                            (Some(bc), Some(b)) => {
                                Some(&typed::<F>(bc, "conv2d")?[b.dense_range()])
                            }
                            _ => None,
                        };
                        cpu::conv::conv2d_fwd(&xv[x.dense_range()], wv, bv, &geom)
                    }))
                }
                (Storage::Cuda(xc), Storage::Cuda(wc)) => {
                    let bias = match &b {
                        Some(b) => match reads.get(2) {
                            Storage::Cuda(bc) => Some((bc, b.dense_range().start)),
                            Storage::Cpu(_) => {
                                return Err(Error::device(
                                    "conv2d",
                                    "bias on the CPU, input on the GPU",
                                ))
                            }
                        },
                        None => None,
                    };
                    Storage::Cuda(cuda::conv::forward(
                        (xc, x.dense_range().start),
                        (wc, w.dense_range().start),
                        bias,
                        &geom,
                    )?)
                }
                _ => return Err(crate::ops::mixed_devices("conv2d", &x, &w)),
            }
        };
        let out = Tensor::from_storage(storage, [geom.n, geom.c_out, geom.oh, geom.ow])?;
        let make = || Conv2dBackward { geom };
        Ok(match bias {
            Some(b) => record(out, &[self, weight, b], make),
            None => record(out, &[self, weight], make),
        })
    }
}

/// The typed slice inside CPU storage, or a dtype error naming `op`.
pub(crate) fn typed<'a, F: Float>(s: &'a CpuStorage, op: &'static str) -> Result<&'a [F]> {
    F::slice(s)
        .ok_or_else(|| Error::dtype(op, format!("expected {} data, got {}", F::DTYPE, s.dtype())))
}

/// Checks every argument and works out the output size.
fn conv_geom(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, p: Conv2dParams) -> Result<ConvGeom> {
    const OP: &str = "conv2d";
    check_same(OP, x, w)?;
    check_rank(OP, x, 4, "input (N, C, H, W)")?;
    check_rank(OP, w, 4, "weight (C_out, C_in / groups, kH, kW)")?;
    let [n, c_in, h, wd] = [x.dim(0), x.dim(1), x.dim(2), x.dim(3)];
    let [c_out, cg_in, kh, kw] = [w.dim(0), w.dim(1), w.dim(2), w.dim(3)];
    let bad = |msg: String| Err(Error::argument(OP, msg));
    if p.stride.0 == 0 || p.stride.1 == 0 {
        return bad(format!("stride must be positive, got {:?}", p.stride));
    }
    if p.dilation.0 == 0 || p.dilation.1 == 0 {
        return bad(format!("dilation must be positive, got {:?}", p.dilation));
    }
    if p.groups == 0 || c_in % p.groups != 0 || c_out % p.groups != 0 {
        return bad(format!(
            "groups {} must divide input channels {c_in} and output channels {c_out}",
            p.groups
        ));
    }
    if c_in == 0 || c_out == 0 || kh == 0 || kw == 0 {
        return Err(Error::shape(
            OP,
            format!(
                "empty channels or kernel: input {:?}, weight {:?}",
                x.shape(),
                w.shape()
            ),
        ));
    }
    if cg_in * p.groups != c_in {
        return Err(Error::shape(
            OP,
            format!(
                "channel mismatch: input {:?} has {c_in} channels, weight {:?} expects {} ({cg_in} x {} groups)",
                x.shape(),
                w.shape(),
                cg_in * p.groups,
                p.groups
            ),
        ));
    }
    if let Some(b) = bias {
        check_same(OP, x, b)?;
        if b.dims() != [c_out] {
            return Err(Error::shape(
                OP,
                format!("bias must have shape [{c_out}], got {:?}", b.shape()),
            ));
        }
    }
    let span_h = p.dilation.0 * (kh - 1) + 1;
    let span_w = p.dilation.1 * (kw - 1) + 1;
    if span_h > h + 2 * p.padding.0 || span_w > wd + 2 * p.padding.1 {
        return Err(Error::shape(
            OP,
            format!(
                "kernel {kh}x{kw} (dilation {:?}) is larger than the padded input: input {:?}, padding {:?}",
                p.dilation,
                x.shape(),
                p.padding
            ),
        ));
    }
    Ok(ConvGeom {
        n,
        c_in,
        h,
        w: wd,
        c_out,
        kh,
        kw,
        stride: p.stride,
        padding: p.padding,
        dilation: p.dilation,
        groups: p.groups,
        oh: (h + 2 * p.padding.0 - span_h) / p.stride.0 + 1,
        ow: (wd + 2 * p.padding.1 - span_w) / p.stride.1 + 1,
    })
}

/// Saves only the geometry: input and weight are the node's inputs.
struct Conv2dBackward {
    geom: ConvGeom,
}

impl BackwardOp for Conv2dBackward {
    fn name(&self) -> &'static str {
        "conv2d"
    }
    /// dX = col2im(W^T dY), dW = sum_n dY col^T, db = sum of dY over N, H, W.
    fn backward(&self, inputs: &[Tensor], grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let g = &self.geom;
        let need_dx = inputs[0].requires_grad();
        let need_dw = inputs[1].requires_grad();
        let need_db = inputs.get(2).is_some_and(|b| b.requires_grad());
        let x = inputs[0].contiguous()?;
        let w = inputs[1].contiguous()?;
        let dy = grad.contiguous()?;
        let reads = Reads::new(&[&x, &w, &dy]);
        let (dx, dw, db) = match (reads.get(0), reads.get(1), reads.get(2)) {
            (Storage::Cpu(xc), Storage::Cpu(wc), Storage::Cpu(dyc)) => {
                crate::cpu_with!(xc, |xv: F| {
                    let xv = &xv[x.dense_range()];
                    let wv = &typed::<F>(wc, "conv2d")?[w.dense_range()];
                    let dyv = &typed::<F>(dyc, "conv2d")?[dy.dense_range()];
                    let (dx, dw) = cpu::conv::conv2d_bwd(xv, wv, dyv, g, need_dx, need_dw);
                    let db = need_db.then(|| cpu::conv::conv2d_bias_bwd(dyv, g.n, g.c_out, g.p()));
                    let wrap = |v: Vec<F>, shape: &[usize]| {
                        Tensor::from_storage(Storage::Cpu(F::into_storage(v)), shape)
                    };
                    (
                        dx.map(|v| wrap(v, x.dims())).transpose()?,
                        dw.map(|v| wrap(v, w.dims())).transpose()?,
                        db.map(|v| wrap(v, &[g.c_out])).transpose()?,
                    )
                })
            }
            (Storage::Cuda(xc), Storage::Cuda(wc), Storage::Cuda(dyc)) => {
                check_same("conv2d", &x, &dy)?;
                let (dx, dw, db) = cuda::conv::backward(
                    (xc, x.dense_range().start),
                    (wc, w.dense_range().start),
                    (dyc, dy.dense_range().start),
                    g,
                    (need_dx, need_dw, need_db),
                )?;
                let wrap = |s: Option<CudaStorage>, shape: &[usize]| {
                    s.map(|s| Tensor::from_storage(Storage::Cuda(s), shape))
                        .transpose()
                };
                (
                    wrap(dx, x.dims())?,
                    wrap(dw, w.dims())?,
                    wrap(db, &[g.c_out])?,
                )
            }
            _ => return Err(crate::ops::mixed_devices("conv2d", &x, &dy)),
        };
        let mut grads = vec![dx, dw];
        if inputs.len() == 3 {
            grads.push(db);
        }
        Ok(grads)
    }
}
