//! `ptxsim`: run one PTX kernel on the simulator from the command line.
//!
//! ```text
//! ptxsim FILE.ptx --kernel NAME --grid X[,Y,Z] --block X[,Y,Z] [--shared BYTES]
//!        [--arg SPEC]... [--out INDEX=PATH.npy]... [--no-checks] [--sequential]
//! ptxsim FILE.ptx --list
//! ```
//! Argument specs, in the kernel's parameter order: scalars `TYPE:VALUE` for every scalar
//! `.param` type, `u8 s8 u16 s16 u32 s32 u64 s64 b8 b16 b32 b64 f32 f64` (`i8`..`i64` as
//! aliases of `s8`..`s64`), and `f16` given as its bit pattern (`f16:0x3c00` is 1.0); integers
//! in decimal or `0x` hex, each packed at its parameter's exact size and offset (a size
//! mismatch is an error naming both). Buffers: `npy:in.npy` (contents of a .npy file),
//! `zeros:DTYPE:LEN` or `nan:DTYPE:LEN` (DTYPE one of f32 f64 i32 u32 u8 i64; nan for floats).
//! `--out INDEX=PATH` writes buffer argument INDEX (0-based) to PATH as .npy after the launch.
//! Prints the launch statistics; on an error or a checker finding prints one line
//! `ptxsim: error: ...` to stderr and exits with status 1 (2 for bad usage).

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::Parser;
use kernels::npy::{self, Array, DType};
use kernels::sim::{Context, DevicePtr, LaunchConfig, SimOptions};
use std::process::ExitCode;

type Dim3 = (u32, u32, u32);

/// Run one PTX kernel on the simulator.
#[derive(Parser, Debug)]
#[command(
    name = "ptxsim",
    about = "Run one PTX kernel on the simulator",
    after_help = "SPEC: u8|s8|u16|s16|u32|s32|u64|s64|b8|b16|b32|b64|f16(bits)|f32|f64:VALUE, \
npy:PATH, zeros:DTYPE:LEN, nan:DTYPE:LEN; DTYPE: f32 f64 i32 u32 u8 i64"
)]
struct Cli {
    /// The PTX file.
    ptx: String,
    /// The kernel (entry) to launch.
    #[arg(long, overrides_with = "kernel")]
    kernel: Option<String>,
    /// List the kernels of the file and exit.
    #[arg(long)]
    list: bool,
    /// Blocks in the grid (the last one given counts).
    #[arg(long, value_name = "X[,Y,Z]", value_parser = dims, overrides_with = "grid")]
    grid: Option<Dim3>,
    /// Threads per block.
    #[arg(long, value_name = "X[,Y,Z]", value_parser = dims, overrides_with = "block")]
    block: Option<Dim3>,
    /// Dynamic shared memory bytes.
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = 0,
        overrides_with = "shared"
    )]
    shared: u32,
    /// One per kernel parameter, in order.
    #[arg(long = "arg", value_name = "SPEC")]
    args: Vec<String>,
    /// Write buffer argument INDEX to PATH (.npy) after the launch.
    #[arg(long = "out", value_name = "INDEX=PATH", value_parser = out_spec)]
    outs: Vec<(usize, String)>,
    /// Turn off the alignment, race, uninitialised and divergence checks.
    #[arg(long)]
    no_checks: bool,
    /// Run blocks one after another (deterministic order).
    #[arg(long)]
    sequential: bool,
}

/// A parsed `--arg`.
#[derive(Debug)]
enum ArgSpec {
    /// A scalar's type name and little-endian bytes.
    Scalar(&'static str, Vec<u8>),
    /// A buffer with its initial contents (the shape is kept for --out).
    Buffer(Array),
}

enum Failure {
    Usage(String),
    Run(String),
}

fn usage<T>(msg: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::Usage(msg.into()))
}

fn dims(s: &str) -> Result<Dim3, String> {
    let parts: Vec<&str> = s.split(',').collect();
    if parts.len() > 3 {
        return Err("expected X, X,Y or X,Y,Z".into());
    }
    let mut d = [1u32; 3];
    for (i, p) in parts.iter().enumerate() {
        d[i] = match p.trim().parse::<u32>() {
            Ok(v) if v > 0 => v,
            _ => return Err("each dimension must be a positive integer".into()),
        };
    }
    Ok((d[0], d[1], d[2]))
}

fn out_spec(s: &str) -> Result<(usize, String), String> {
    let (i, path) = s.split_once('=').ok_or("expected INDEX=PATH")?;
    let i = i.parse().map_err(|_| "bad index")?;
    Ok((i, path.to_string()))
}

/// Scalar `.param` types: (spec name, bytes, signed, float).
const SCALARS: &[(&str, usize, bool, bool)] = &[
    ("u8", 1, false, false),
    ("s8", 1, true, false),
    ("i8", 1, true, false),
    ("b8", 1, false, false),
    ("u16", 2, false, false),
    ("s16", 2, true, false),
    ("i16", 2, true, false),
    ("b16", 2, false, false),
    ("f16", 2, false, false),
    ("u32", 4, false, false),
    ("s32", 4, true, false),
    ("i32", 4, true, false),
    ("b32", 4, false, false),
    ("u64", 8, false, false),
    ("s64", 8, true, false),
    ("i64", 8, true, false),
    ("b64", 8, false, false),
    ("f32", 4, true, true),
    ("f64", 8, true, true),
];

/// An integer of `size` bytes: decimal (a leading `-` for signed and `b` types) or `0x` hex.
fn int_bytes(v: &str, size: usize, signed: bool, bits: bool) -> Option<Vec<u8>> {
    let (neg, digits) = match v.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, v),
    };
    let mag = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(h) => u128::from_str_radix(h, 16).ok()?,
        None => digits.parse::<u128>().ok()?,
    };
    let width = 8 * size as u32;
    let x: i128 = if neg { -(mag as i128) } else { mag as i128 };
    let (lo, hi) = match (signed, bits) {
        (true, _) => (-(1i128 << (width - 1)), (1i128 << (width - 1)) - 1),
        (false, false) => (0, (1i128 << width) - 1),
        // a b-type takes any value of either signedness
        (false, true) => (-(1i128 << (width - 1)), (1i128 << width) - 1),
    };
    (lo..=hi)
        .contains(&x)
        .then(|| x.to_le_bytes()[..size].to_vec())
}

fn scalar(kind: &str, v: &str) -> Option<Option<(&'static str, Vec<u8>)>> {
    let &(name, size, signed, float) = SCALARS.iter().find(|s| s.0 == kind)?;
    let bytes = match (float, size) {
        (true, 4) => v.parse::<f32>().ok().map(|x| x.to_le_bytes().to_vec()),
        (true, _) => v.parse::<f64>().ok().map(|x| x.to_le_bytes().to_vec()),
        _ => int_bytes(v, size, signed, name.starts_with('b')),
    };
    Some(bytes.map(|b| (name, b)))
}

fn parse_arg(spec: &str) -> Result<ArgSpec, Failure> {
    let (kind, rest) = spec
        .split_once(':')
        .ok_or_else(|| Failure::Usage(format!("--arg {spec:?}: expected TYPE:VALUE")))?;
    let bad = |what: &str| Failure::Usage(format!("--arg {spec:?}: {what}"));
    if let Some(s) = scalar(kind, rest) {
        return s
            .map(|(name, b)| ArgSpec::Scalar(name, b))
            .ok_or_else(|| bad("bad value (or out of the type's range)"));
    }
    match kind {
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
        _ => {
            let names: Vec<&str> = SCALARS.iter().map(|s| s.0).collect();
            Err(bad(&format!(
                "unknown type ({} npy zeros nan)",
                names.join(" ")
            )))
        }
    }
}

/// A clap error as one line (an unknown flag reads "unknown option --x").
fn clap_failure(e: clap::Error) -> Failure {
    if e.kind() == ErrorKind::UnknownArgument {
        if let Some(ContextValue::String(a)) = e.get(ContextKind::InvalidArg) {
            if a.starts_with('-') {
                return Failure::Usage(format!("unknown option {a}"));
            }
        }
    }
    // the message is what comes before clap's tip and usage paragraphs
    let text = e.to_string();
    let msg = text.split("\n\n").next().unwrap_or("");
    let msg: Vec<&str> = msg
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let msg = msg.join(" ");
    Failure::Usage(msg.strip_prefix("error: ").unwrap_or(&msg).to_string())
}

/// The launch request after its checks: the parsed --arg specs with it.
fn parse_cli(argv: &[String]) -> Result<(Cli, Vec<ArgSpec>), Failure> {
    let cli = match Cli::try_parse_from(
        std::iter::once("ptxsim".to_string()).chain(argv.iter().cloned()),
    ) {
        Ok(c) => c,
        Err(e) if e.kind() == ErrorKind::DisplayHelp => {
            print!("{}", e.render());
            return usage("");
        }
        Err(e) => return Err(clap_failure(e)),
    };
    let args = cli
        .args
        .iter()
        .map(|a| parse_arg(a))
        .collect::<Result<Vec<_>, _>>()?;
    if !cli.list {
        if cli.kernel.is_none() {
            return usage("--kernel NAME is required (--list shows the kernels)");
        }
        if cli.grid.is_none() || cli.block.is_none() {
            return usage("--grid and --block are required");
        }
    }
    for (i, _) in &cli.outs {
        match args.get(*i) {
            Some(ArgSpec::Buffer(_)) => {}
            Some(ArgSpec::Scalar(..)) => {
                return usage(format!("--out {i}: argument {i} is a scalar, not a buffer"))
            }
            None => {
                return usage(format!(
                    "--out {i}: there are only {} arguments",
                    args.len()
                ))
            }
        }
    }
    Ok((cli, args))
}

fn run((cli, args): (Cli, Vec<ArgSpec>)) -> Result<(), Failure> {
    let text = std::fs::read_to_string(&cli.ptx)
        .map_err(|e| Failure::Run(format!("cannot read {}: {e}", cli.ptx)))?;
    let ctx = Context::new(SimOptions {
        checks: !cli.no_checks,
        parallel: !cli.sequential,
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

    let mut bytes: Vec<(&str, Vec<u8>)> = Vec::with_capacity(args.len());
    let mut buffers: Vec<Option<DevicePtr>> = Vec::with_capacity(args.len());
    for (i, a) in args.iter().enumerate() {
        match a {
            ArgSpec::Scalar(kind, b) => {
                bytes.push((kind, b.clone()));
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
                bytes.push(("pointer", p.0.to_le_bytes().to_vec()));
                buffers.push(Some(p));
            }
        }
    }
    let named: Vec<(&str, &[u8])> = bytes.iter().map(|(k, b)| (*k, b.as_slice())).collect();
    let pbuf = function
        .pack_params(&named)
        .map_err(|e| sim(&format!("kernel {name}"), e))?;
    let (grid, block) = (
        cli.grid.unwrap_or((1, 1, 1)),
        cli.block.unwrap_or((1, 1, 1)),
    );
    let cfg = LaunchConfig {
        grid,
        block,
        shared_bytes: cli.shared,
    };
    println!(
        "{name}: grid {:?} block {:?} shared {} bytes, {} arguments",
        grid,
        block,
        cli.shared,
        args.len()
    );
    let stats = ctx
        .launch_packed(&function, cfg, &pbuf)
        .map_err(|e| sim(&format!("kernel {name}"), e))?;
    ctx.synchronize().map_err(|e| sim("synchronize", e))?;
    println!("{stats}");
    for (i, path) in &cli.outs {
        let (Some(p), ArgSpec::Buffer(arr)) = (buffers[*i], &args[*i]) else {
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
        Err(Failure::Usage(msg)) if msg.is_empty() => ExitCode::SUCCESS, // --help
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
