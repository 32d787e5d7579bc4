//! Where a pass gets its batches: on the CPU from the [`Loader`]; on a GPU from the dataset
//! made resident on the device once, each batch gathered and normalised there from an epoch
//! order uploaded once per epoch (no pixels or labels cross per step). Augmentation runs on
//! the CPU, so an augmented run on a GPU uploads each (augmented) batch instead.

use engine::resident::ResidentImages;
use engine::{DType, Device, Labels, Tensor};

use super::TrainError;
use crate::dataset::{Dataset, Loader, MNIST_MEAN, MNIST_STD};

/// The batches of one dataset for one device.
pub struct BatchSource<'a> {
    loader: Loader<'a>,
    device: Device,
    resident: Option<ResidentImages>,
}

impl<'a> BatchSource<'a> {
    /// Batches of `loader` on `device` (resident on a GPU unless the loader augments).
    pub fn new(loader: Loader<'a>, device: Device) -> Result<BatchSource<'a>, TrainError> {
        let resident = if device.is_cuda() && !loader.augments() && !loader.dataset().is_empty() {
            let data = loader.dataset();
            Some(ResidentImages::new(device, &data.images, &data.labels)?)
        } else {
            None
        };
        Ok(BatchSource {
            loader,
            device,
            resident,
        })
    }

    /// Evaluation batches of `data` (in order) on `device`.
    pub fn eval(data: &'a Dataset, batch_size: usize, device: Device) -> Result<Self, TrainError> {
        BatchSource::new(Loader::new(data, batch_size), device)
    }

    pub fn device(&self) -> Device {
        self.device
    }

    pub fn num_batches(&self) -> usize {
        self.loader.num_batches()
    }

    /// Calls `f(i, x, labels)` for each batch of `epoch` (`x` is `(n, 1, 28, 28)` on the
    /// device) until it returns `false`.
    pub fn for_each(
        &self,
        epoch: usize,
        mut f: impl FnMut(usize, Tensor, Labels) -> Result<bool, TrainError>,
    ) -> Result<(), TrainError> {
        match &self.resident {
            Some(data) => {
                let order = data.epoch_order(self.loader.order(epoch))?;
                let bs = self.loader.batch_size();
                for i in 0..self.num_batches() {
                    let range = i * bs..((i + 1) * bs).min(order.len());
                    let n = range.len();
                    let norm = (MNIST_MEAN as f64, MNIST_STD as f64);
                    let (x, y) = data.batch(&order, range, norm, DType::F32)?;
                    if !f(i, x.reshape([n, 1, 28, 28])?, y)? {
                        break;
                    }
                }
            }
            None => {
                for (i, batch) in self.loader.epoch(epoch).enumerate() {
                    let n = batch.len();
                    let x =
                        Tensor::from_vec(batch.pixels, [n, 1, 28, 28])?.to_device(self.device)?;
                    let y: Vec<usize> = batch.labels.iter().map(|&l| l as usize).collect();
                    if !f(i, x, Labels::host(&y).to_device(self.device)?)? {
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}
