//! Launchers for `kernels/cuda/pool.cu`. Every pool is the CPU's [`Windows`] description
//! turned into a u32 table (uploaded once per geometry), so max, average and adaptive pools
//! share the kernels and the CPU's exact window rules.

use std::sync::Arc;

use kernels::ptx::{pool, Module};

use super::{u32_arg, Arg, CudaStorage, DeviceBlock, LaunchShape};
use crate::backend::cpu::pool::{Win, Windows};
use crate::error::Result;

/// For each input line, the outputs whose windows cover it (windows are monotone, so they
/// form one range `first..last + 1`).
fn covers(wins: &[Win], size: usize) -> Vec<u32> {
    (0..size)
        .flat_map(|y| {
            let lo = wins.iter().position(|w| w.end > y).unwrap_or(wins.len());
            let hi = wins.iter().position(|w| w.start > y).unwrap_or(wins.len());
            [lo as u32, hi.max(lo) as u32]
        })
        .collect()
}

/// The kernels' table: rows | cols | row covers | col covers (windows as start, end, div,
/// step).
fn table(win: &Windows) -> Vec<u32> {
    let flat = |ws: &[Win]| -> Vec<u32> {
        ws.iter()
            .flat_map(|w| [w.start, w.end, w.div, w.step].map(|v| v as u32))
            .collect()
    };
    let mut t = flat(&win.rows);
    t.extend(flat(&win.cols));
    t.extend(covers(&win.rows, win.h));
    t.extend(covers(&win.cols, win.w));
    t
}

/// The pool's dims as kernel arguments.
fn dims(planes: usize, win: &Windows) -> Result<[Arg; 5]> {
    let (oh, ow) = (win.rows.len(), win.cols.len());
    Ok([
        u32_arg("pool", planes)?,
        u32_arg("pool", win.h)?,
        u32_arg("pool", win.w)?,
        u32_arg("pool", oh)?,
        u32_arg("pool", ow)?,
    ])
}

/// Max pool of the dense planes at `x[offset..]`: the maxima and their in-plane argmax.
pub fn max_fwd(
    x: &CudaStorage,
    offset: usize,
    planes: usize,
    win: &Windows,
) -> Result<(CudaStorage, Arc<DeviceBlock>)> {
    let dev = x.cuda_device();
    let n = planes * win.rows.len() * win.cols.len();
    let y = CudaStorage::uninit(dev, n, x.dtype())?;
    let argmax = Arc::new(dev.pool().alloc(n * 4)?);
    let tab = dev.constant_u32(&table(win))?;
    let mut args = vec![
        Arg::Ptr(x.ptr_at(offset)),
        Arg::Ptr(y.ptr()),
        Arg::Ptr(argmax.ptr()),
        Arg::Ptr(tab.ptr()),
    ];
    args.extend(dims(planes, win)?);
    dev.launch_typed(
        Module::Pool,
        "max_pool2d_fwd",
        x.dtype(),
        LaunchShape::linear(n, pool::THREADS),
        &args,
    )?;
    Ok((y, argmax))
}

/// Max pool backward from the saved argmax.
pub fn max_bwd(
    dy: &CudaStorage,
    offset: usize,
    argmax: &DeviceBlock,
    planes: usize,
    win: &Windows,
) -> Result<CudaStorage> {
    let dev = dy.cuda_device();
    let n = planes * win.h * win.w;
    let dx = CudaStorage::uninit(dev, n, dy.dtype())?;
    let tab = dev.constant_u32(&table(win))?;
    let mut args = vec![
        Arg::Ptr(dy.ptr_at(offset)),
        Arg::Ptr(argmax.ptr()),
        Arg::Ptr(tab.ptr()),
        Arg::Ptr(dx.ptr()),
    ];
    args.extend(dims(planes, win)?);
    dev.launch_typed(
        Module::Pool,
        "max_pool2d_bwd",
        dy.dtype(),
        LaunchShape::linear(n, pool::THREADS),
        &args,
    )?;
    Ok(dx)
}

/// Average pool (plain or adaptive, by the windows) forward, or its backward when
/// `forward == false` (then `x` is the upstream gradient).
pub fn avg(
    x: &CudaStorage,
    offset: usize,
    planes: usize,
    win: &Windows,
    forward: bool,
) -> Result<CudaStorage> {
    let dev = x.cuda_device();
    let (inp, out) = (win.h * win.w, win.rows.len() * win.cols.len());
    let n = planes * if forward { out } else { inp };
    let y = CudaStorage::uninit(dev, n, x.dtype())?;
    let tab = dev.constant_u32(&table(win))?;
    let io = [Arg::Ptr(x.ptr_at(offset)), Arg::Ptr(y.ptr())];
    let mut args = if forward {
        vec![io[0].clone(), io[1].clone(), Arg::Ptr(tab.ptr())]
    } else {
        vec![io[0].clone(), Arg::Ptr(tab.ptr()), io[1].clone()]
    };
    args.extend(dims(planes, win)?);
    let base = if forward {
        "avg_pool2d_fwd"
    } else {
        "avg_pool2d_bwd"
    };
    dev.launch_typed(
        Module::Pool,
        base,
        x.dtype(),
        LaunchShape::linear(n, pool::THREADS),
        &args,
    )?;
    Ok(y)
}
