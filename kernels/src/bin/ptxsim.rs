//! `ptxsim`: run one PTX kernel on the simulator from the command line.
//!
//! ```text
//! ptxsim FILE.ptx --kernel NAME --grid X[,Y,Z] --block X[,Y,Z] [--shared BYTES]
//!        [--arg SPEC]... [--out INDEX=PATH.npy]... [--no-checks] [--sequential]
//! ptxsim FILE.ptx --list
//! ```
//! Argument specs, in the kernel's parameter order: scalars `u32:7`, `i32:-1`, `u64:9`,
//! `i64:-9`, `f32:0.5`, `f64:0.25`; buffers `npy:in.npy` (contents of a .npy file),
//! `zeros:DTYPE:LEN` or `nan:DTYPE:LEN` (DTYPE one of f32 f64 i32 u32 u8 i64; nan for floats).
//! `--out INDEX=PATH` writes buffer argument INDEX (0-based) to PATH as .npy after the launch.
//! Prints the launch statistics; on an error or a checker finding prints one line
//! `ptxsim: error: ...` to stderr and exits with status 1 (2 for bad usage).

use kernels::npy::{self, Array, DType};
use kernels::sim::{Context, DevicePtr, KernelArg, LaunchConfig, SimOptions};
use std::process::ExitCode;

const USAGE: &str = "usage: ptxsim FILE.ptx --kernel NAME --grid X[,Y,Z] --block X[,Y,Z] \
[--shared BYTES] [--arg SPEC]... [--out INDEX=PATH.npy]... [--no-checks] [--sequential] | \
ptxsim FILE.ptx --list  (SPEC: u32:7 i32:-1 u64:N i64:N f32:0.5 f64:X npy:PATH \
zeros:DTYPE:LEN nan:DTYPE:LEN; DTYPE: f32 f64 i32 u32 u8 i64)";

/// A parsed `--arg`.
#[derive(Debug)]
enum ArgSpec {
    Scalar(KernelArg),
    /// A buffer with its initial contents (the shape is kept for --out).
    Buffer(Array),
}

#[derive(Debug)]
struct Cli {
    ptx: String,
    kernel: Option<String>,
    list: bool,
    grid: (u32, u32, u32),
    block: (u32, u32, u32),
    shared: u32,
    args: Vec<ArgSpec>,
    outs: Vec<(usize, String)>,
    checks: bool,
    parallel: bool,
}

enum Failure {
    Usage(String),
    Run(String),
}

fn usage<T>(msg: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::Usage(msg.into()))
}

fn dims(flag: &str, s: &str) -> Result<(u32, u32, u32), Failure> {
    let parts: Vec<&str> = s.split(',').collect();
    if parts.is_empty() || parts.len() > 3 {
        return usage(format!("{flag} {s:?}: expected X, X,Y or X,Y,Z"));
    }
    let mut d = [1u32; 3];
    for (i, p) in parts.iter().enumerate() {
        d[i] = match p.trim().parse::<u32>() {
            Ok(v) if v > 0 => v,
            _ => {
                return usage(format!(
                    "{flag} {s:?}: each dimension must be a positive integer"
                ))
            }
        };
    }
    Ok((d[0], d[1], d[2]))
}

fn parse_arg(spec: &str) -> Result<ArgSpec, Failure> {
    let (kind, rest) = spec
        .split_once(':')
        .ok_or_else(|| Failure::Usage(format!("--arg {spec:?}: expected TYPE:VALUE")))?;
    let bad = |what: &str| Failure::Usage(format!("--arg {spec:?}: {what}"));
    let scalar = |a: Option<KernelArg>| a.map(ArgSpec::Scalar).ok_or_else(|| bad("bad value"));
    match kind {
        "u32" => scalar(rest.parse().ok().map(KernelArg::U32)),
        "i32" => scalar(rest.parse().ok().map(KernelArg::I32)),
        "u64" => scalar(rest.parse().ok().map(KernelArg::U64)),
        "i64" => scalar(rest.parse().ok().map(KernelArg::I64)),
        "f32" => scalar(rest.parse().ok().map(KernelArg::F32)),
        "f64" => scalar(rest.parse().ok().map(KernelArg::F64)),
        "npy" => npy::read(rest)
            .map(ArgSpec::Buffer)
            .map_err(|e| Failure::Run(format!("--arg {spec:?}: {e}"))),
        "zeros" | "nan" => {
            let (dt, len) = rest
                .split_once(':')
                .ok_or_else(|| bad("expected DTYPE:LEN"))?;
            let dtype = DType::from_name(dt).ok_or_else(|| bad("unknown dtype"))?;
            let len: usize = len.parse().map_err(|_| bad("bad length"))?;
            let data = match (kind, dtype) {
                ("zeros", _) => vec![0u8; len * dtype.size()],
                (_, DType::F32) => f32::NAN.to_le_bytes().repeat(len),
                (_, DType::F64) => f64::NAN.to_le_bytes().repeat(len),
                _ => return Err(bad("nan needs a float dtype (f32 or f64)")),
            };
            Ok(ArgSpec::Buffer(
                Array::from_bytes(dtype, &[len], data).map_err(|e| bad(&e.to_string()))?,
            ))
        }
        _ => Err(bad("unknown type (u32 i32 u64 i64 f32 f64 npy zeros nan)")),
    }
}

fn parse_cli(argv: &[String]) -> Result<Cli, Failure> {
    let mut cli = Cli {
        ptx: String::new(),
        kernel: None,
        list: false,
        grid: (0, 0, 0),
        block: (0, 0, 0),
        shared: 0,
        args: Vec::new(),
        outs: Vec::new(),
        checks: true,
        parallel: true,
    };
    let (mut have_grid, mut have_block) = (false, false);
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| Failure::Usage(format!("{flag} needs a value")))
        };
        match a.as_str() {
            "-h" | "--help" => return usage(""),
            "--kernel" => cli.kernel = Some(value(a)?),
            "--list" => cli.list = true,
            "--grid" => {
                cli.grid = dims(a, &value(a)?)?;
                have_grid = true;
            }
            "--block" => {
                cli.block = dims(a, &value(a)?)?;
                have_block = true;
            }
            "--shared" => {
                let v = value(a)?;
                cli.shared = v
                    .parse()
                    .map_err(|_| Failure::Usage(format!("--shared {v:?}: not a byte count")))?;
            }
            "--arg" => cli.args.push(parse_arg(&value(a)?)?),
            "--out" => {
                let v = value(a)?;
                let (i, path) = v
                    .split_once('=')
                    .ok_or_else(|| Failure::Usage(format!("--out {v:?}: expected INDEX=PATH")))?;
                let i = i
                    .parse()
                    .map_err(|_| Failure::Usage(format!("--out {v:?}: bad index")))?;
                cli.outs.push((i, path.to_string()));
            }
            "--no-checks" => cli.checks = false,
            "--sequential" => cli.parallel = false,
            s if s.starts_with('-') => return usage(format!("unknown option {s}")),
            s => {
                if !cli.ptx.is_empty() {
                    return usage(format!("more than one PTX file ({} and {s})", cli.ptx));
                }
                cli.ptx = s.to_string();
            }
        }
    }
    if cli.ptx.is_empty() {
        return usage("no PTX file given");
    }
    if !cli.list {
        if cli.kernel.is_none() {
            return usage("--kernel NAME is required (--list shows the kernels)");
        }
        if !have_grid || !have_block {
            return usage("--grid and --block are required");
        }
    }
    for (i, _) in &cli.outs {
        match cli.args.get(*i) {
            Some(ArgSpec::Buffer(_)) => {}
            Some(ArgSpec::Scalar(_)) => {
                return usage(format!("--out {i}: argument {i} is a scalar, not a buffer"))
            }
            None => {
                return usage(format!(
                    "--out {i}: there are only {} arguments",
                    cli.args.len()
                ))
            }
        }
    }
    Ok(cli)
}

fn run(cli: Cli) -> Result<(), Failure> {
    let text = std::fs::read_to_string(&cli.ptx)
        .map_err(|e| Failure::Run(format!("cannot read {}: {e}", cli.ptx)))?;
    let ctx = Context::new(SimOptions {
        checks: cli.checks,
        parallel: cli.parallel,
    });
    let sim = |what: &str, e: kernels::sim::SimError| {
        Failure::Run(format!(
            "{what}: [{}] {}",
            e.kind(),
            one_line(&e.to_string())
        ))
    };
    let module = ctx.load_module(&text).map_err(|e| sim(&cli.ptx, e))?;
    if cli.list {
        for name in module.function_names() {
            println!("{name}");
        }
        return Ok(());
    }
    let name = cli.kernel.as_deref().unwrap();
    let function = module
        .function(name)
        .map_err(|e| sim(&format!("kernel {name}"), e))?;

    let mut kargs = Vec::with_capacity(cli.args.len());
    let mut buffers: Vec<Option<DevicePtr>> = Vec::with_capacity(cli.args.len());
    for (i, a) in cli.args.iter().enumerate() {
        match a {
            ArgSpec::Scalar(k) => {
                kargs.push(*k);
                buffers.push(None);
            }
            ArgSpec::Buffer(arr) => {
                let p = ctx
                    .alloc(arr.data.len().max(1))
                    .map_err(|e| sim(&format!("argument {i}: alloc"), e))?;
                if !arr.data.is_empty() {
                    ctx.copy_htod(p, &arr.data)
                        .map_err(|e| sim(&format!("argument {i}: copy"), e))?;
                }
                kargs.push(KernelArg::Ptr(p));
                buffers.push(Some(p));
            }
        }
    }
    let cfg = LaunchConfig {
        grid: cli.grid,
        block: cli.block,
        shared_bytes: cli.shared,
    };
    println!(
        "{name}: grid {:?} block {:?} shared {} bytes, {} arguments",
        cli.grid,
        cli.block,
        cli.shared,
        kargs.len()
    );
    let stats = ctx
        .launch(&function, cfg, &kargs)
        .map_err(|e| sim(&format!("kernel {name}"), e))?;
    ctx.synchronize().map_err(|e| sim("synchronize", e))?;
    println!("{stats}");
    for (i, path) in &cli.outs {
        let (Some(p), ArgSpec::Buffer(arr)) = (buffers[*i], &cli.args[*i]) else {
            unreachable!()
        };
        let mut data = vec![0u8; arr.data.len()];
        if !data.is_empty() {
            ctx.copy_dtoh(&mut data, p)
                .map_err(|e| sim(&format!("--out {i}: copy"), e))?;
        }
        let out = Array {
            dtype: arr.dtype,
            shape: arr.shape.clone(),
            data,
        };
        npy::write(path, &out).map_err(|e| Failure::Run(format!("--out {i}: {e}")))?;
        println!(
            "wrote argument {i} ({} x {}) to {path}",
            out.len(),
            out.dtype.name()
        );
    }
    Ok(())
}

/// Joins a multi-line message into one line.
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let result = parse_cli(&argv).and_then(run);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) if msg.is_empty() => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("ptxsim: error: {msg} (ptxsim --help shows the usage)");
            ExitCode::from(2)
        }
        Err(Failure::Run(msg)) => {
            eprintln!("ptxsim: error: {msg}");
            ExitCode::FAILURE
        }
    }
}
