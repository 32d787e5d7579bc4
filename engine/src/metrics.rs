//! Running loss and accuracy of a classification pass, accumulated where the logits live: on
//! a GPU each batch adds with one kernel and no host read; [`RunningMetrics::read`] is the one
//! synchronisation, once per epoch or log interval.

use std::sync::Arc;

use kernels::ptx::{data, Module};

use crate::backend::cuda::{u32_arg, Arg, CudaDevice, CudaStorage, DeviceBlock, LaunchShape};
use crate::device::{Device, Storage};
use crate::dtype::{DType, Float};
use crate::error::{Error, Result};
use crate::labels::Labels;
use crate::tensor::Tensor;

/// Sums of per-batch loss (mean loss x batch size) and correct predictions.
pub struct RunningMetrics {
    seen: usize,
    acc: Acc,
}

enum Acc {
    Host {
        loss_sum: f64,
        correct: usize,
    },
    Cuda {
        dev: Arc<CudaDevice>,
        loss_sum: CudaStorage,
        correct: DeviceBlock,
    },
}

/// What [`RunningMetrics::read`] returns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricsSnapshot {
    /// Mean loss over the images seen (NaN once any batch's loss was not finite).
    pub loss: f64,
    pub correct: usize,
    pub seen: usize,
}

impl RunningMetrics {
    /// Empty accumulators on `device`, in `dtype` (the logits' dtype).
    pub fn new(device: Device, dtype: DType) -> Result<RunningMetrics> {
        let acc = match device {
            Device::Cpu => Acc::Host {
                loss_sum: 0.0,
                correct: 0,
            },
            Device::Cuda(_) | Device::CudaSim => {
                let dev = CudaDevice::get(device)?;
                let loss_sum = crate::backend::cuda::copy::fill(&dev, 1, dtype, 0.0)?;
                let correct = dev.pool().alloc(4)?;
                dev.gpu().memset(correct.ptr(), 0, 4)?;
                Acc::Cuda {
                    dev,
                    loss_sum,
                    correct,
                }
            }
        };
        Ok(RunningMetrics { seen: 0, acc })
    }

    /// Adds a batch: its `(N, C)` logits, labels and mean loss (a one-element tensor).
    pub fn add(&mut self, logits: &Tensor, labels: &Labels, mean_loss: &Tensor) -> Result<()> {
        let (n, c) = match logits.dims() {
            &[n, c] if n == labels.len() => (n, c),
            d => {
                return Err(Error::shape(
                    "metrics",
                    format!("logits {d:?} for {} labels", labels.len()),
                ))
            }
        };
        self.seen += n;
        match &mut self.acc {
            Acc::Host { loss_sum, correct } => {
                *loss_sum += mean_loss.item()? * n as f64;
                let pred = logits.argmax(1, false)?.to_vec_f64()?;
                let y = labels.to_vec()?;
                *correct += pred
                    .iter()
                    .zip(&y)
                    .filter(|(&p, &l)| p as usize == l)
                    .count();
            }
            Acc::Cuda {
                dev,
                loss_sum,
                correct,
            } => {
                let x = logits.contiguous()?;
                let loss = mean_loss.to_dtype(x.dtype())?.contiguous()?;
                let (xs, ls) = (x.read_storage(), loss.read_storage());
                let (Storage::Cuda(xs), Storage::Cuda(ls)) = (&*xs, &*ls) else {
                    return Err(Error::device(
                        "metrics",
                        "logits and loss must be on the device",
                    ));
                };
                let labels_ptr = labels
                    .device_ptr()
                    .ok_or_else(|| Error::device("metrics", "labels are not on the device"))?;
                let args = [
                    Arg::Ptr(xs.ptr_at(x.layout().offset)),
                    Arg::Ptr(labels_ptr),
                    Arg::Ptr(ls.ptr_at(loss.layout().offset)),
                    u32_arg("metrics", n)?,
                    u32_arg("metrics", c)?,
                    Arg::Ptr(correct.ptr()),
                    Arg::Ptr(loss_sum.ptr()),
                ];
                let shape = LaunchShape::linear(n, data::THREADS);
                dev.launch_typed(
                    Module::Data,
                    "accuracy_loss_accumulate",
                    x.dtype(),
                    shape,
                    &args,
                )?;
            }
        }
        Ok(())
    }

    /// The totals so far (on a GPU: one copy to the host).
    pub fn read(&self) -> Result<MetricsSnapshot> {
        let (loss_sum, correct) = match &self.acc {
            Acc::Host { loss_sum, correct } => (*loss_sum, *correct),
            Acc::Cuda {
                dev,
                loss_sum,
                correct,
            } => {
                let correct = dev.download_u32(correct, 1)?[0] as usize;
                let sum = crate::cpu_with!(&loss_sum.to_host()?, |v: F| v[0].to_f64());
                (sum, correct)
            }
        };
        Ok(MetricsSnapshot {
            loss: loss_sum / self.seen.max(1) as f64,
            correct,
            seen: self.seen,
        })
    }
}
