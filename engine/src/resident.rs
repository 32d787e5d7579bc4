//! A u8 image dataset resident on a device: uploaded once, batches gathered and normalised
//! where the model runs (`kernels/cuda/data.cu` on a GPU), so a training step on the GPU
//! sends neither pixels nor labels through the host.

use std::ops::Range;
use std::sync::Arc;

use kernels::ptx::{data, Module};

use crate::backend::cuda::{
    scalar_arg, to_u32s, u32_arg, Arg, CudaDevice, CudaStorage, DeviceBlock, LaunchShape,
};
use crate::device::{Device, Storage};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::labels::Labels;
use crate::tensor::Tensor;

/// `n` images of `pixels` bytes each with one u8 label each.
pub struct ResidentImages {
    device: Device,
    n: usize,
    pixels: usize,
    place: Place,
}

enum Place {
    Host {
        images: Vec<u8>,
        labels: Vec<u8>,
    },
    Cuda {
        dev: Arc<CudaDevice>,
        images: DeviceBlock,
        labels: DeviceBlock,
    },
}

/// An epoch's visiting order, on the dataset's device.
pub struct EpochOrder {
    order: Vec<usize>,
    device_order: Option<DeviceBlock>,
}

impl EpochOrder {
    pub fn len(&self) -> usize {
        self.order.len()
    }
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

impl ResidentImages {
    /// Uploads `images` (`labels.len()` images, row-major bytes) and `labels` to `device`.
    pub fn new(device: Device, images: &[u8], labels: &[u8]) -> Result<ResidentImages> {
        let n = labels.len();
        if n == 0 || !images.len().is_multiple_of(n) {
            return Err(Error::shape(
                "resident images",
                format!("{} bytes are not {n} equal images", images.len()),
            ));
        }
        let pixels = images.len() / n;
        let place = match device {
            Device::Cpu => Place::Host {
                images: images.to_vec(),
                labels: labels.to_vec(),
            },
            Device::Cuda(_) | Device::CudaSim => {
                let dev = CudaDevice::get(device)?;
                let (im, lb) = (dev.pool().alloc(images.len())?, dev.pool().alloc(n)?);
                dev.gpu().copy_htod(im.ptr(), images)?;
                dev.gpu().copy_htod(lb.ptr(), labels)?;
                Place::Cuda {
                    dev,
                    images: im,
                    labels: lb,
                }
            }
        };
        Ok(ResidentImages {
            device,
            n,
            pixels,
            place,
        })
    }

    pub fn len(&self) -> usize {
        self.n
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    pub fn device(&self) -> Device {
        self.device
    }

    /// `order` (indices into the dataset) placed on the device once for the whole epoch.
    pub fn epoch_order(&self, order: Vec<usize>) -> Result<EpochOrder> {
        if let Some(&i) = order.iter().find(|&&i| i >= self.n) {
            return Err(Error::argument(
                "epoch order",
                format!("index {i} out of range for {} images", self.n),
            ));
        }
        let device_order = match &self.place {
            Place::Host { .. } => None,
            Place::Cuda { dev, .. } => Some(dev.upload_u32(&to_u32s("epoch order", &order)?)?),
        };
        Ok(EpochOrder {
            order,
            device_order,
        })
    }

    /// The images at positions `range` of `order` as a `(batch, pixels)` tensor of `dtype`,
    /// normalised as `(p / 255 - mean) / std`, with their labels, both on the device.
    pub fn batch(
        &self,
        order: &EpochOrder,
        range: Range<usize>,
        (mean, std): (f64, f64),
        dtype: DType,
    ) -> Result<(Tensor, Labels)> {
        if range.end > order.len() || range.is_empty() {
            return Err(Error::argument(
                "batch",
                format!("range {range:?} of an order of {}", order.len()),
            ));
        }
        let b = range.len();
        match &self.place {
            Place::Host { images, labels } => {
                let idx = &order.order[range];
                let values: Vec<f64> = idx
                    .iter()
                    .flat_map(|&i| &images[i * self.pixels..(i + 1) * self.pixels])
                    .map(|&p| (p as f64 / 255.0 - mean) / std)
                    .collect();
                let x = Tensor::from_vec(values, [b, self.pixels])?.to_dtype(dtype)?;
                let y: Vec<usize> = idx.iter().map(|&i| labels[i] as usize).collect();
                Ok((x, Labels::host(&y)))
            }
            Place::Cuda {
                dev,
                images,
                labels,
            } => {
                let ord = order
                    .device_order
                    .as_ref()
                    .ok_or_else(|| Error::device("batch", "order is not on the device"))?;
                let idx_ptr = ord.ptr() + (range.start * 4) as u64;
                let x = CudaStorage::uninit(dev, b * self.pixels, dtype)?;
                let args = [
                    Arg::Ptr(images.ptr()),
                    Arg::Ptr(idx_ptr),
                    Arg::Ptr(x.ptr()),
                    u32_arg("batch", b)?,
                    u32_arg("batch", self.pixels)?,
                    scalar_arg(dtype, mean),
                    scalar_arg(dtype, std),
                ];
                let shape = LaunchShape::linear(b * self.pixels, data::THREADS);
                dev.launch_typed(Module::Data, "gather_normalize_u8", dtype, shape, &args)?;
                let y = dev.pool().alloc(b * 4)?;
                let args = [
                    Arg::Ptr(labels.ptr()),
                    Arg::Ptr(idx_ptr),
                    Arg::Ptr(y.ptr()),
                    u32_arg("batch", b)?,
                ];
                let shape = LaunchShape::linear(b, data::THREADS);
                dev.launch(Module::Data, data::GATHER_LABELS_U32, shape, &args)?;
                let x = Tensor::from_storage(Storage::Cuda(x), [b, self.pixels])?;
                Ok((x, Labels::from_device(self.device, y, b)))
            }
        }
    }
}
