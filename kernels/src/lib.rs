//! CUDA kernels as PTX and the PTX simulator.
