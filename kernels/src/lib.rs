//! Hand-written CUDA kernels, shipped as PTX text, and the PTX simulator that executes
//! that same text on the CPU (with memory, race and barrier checks) so that every kernel
//! is run and tested on machines without a GPU.

pub mod npy;
pub mod philox;
pub mod ptx;
pub mod sim;
