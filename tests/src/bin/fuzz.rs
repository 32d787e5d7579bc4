//! `cargo run --release -p tests --bin fuzz -- --target all --seconds 60 [--min-inputs N]`:
//! fuzzes each target for the given time (and at least N inputs) and prints a report.
//! Exit status 1 when any input crashed, 3 on a hang or an allocation over the hard cap.

use std::process::ExitCode;
use std::time::Duration;

use tests::fuzz::{self, alloc::CountingAlloc, Limits};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const USAGE: &str =
    "usage: fuzz [--target NAME|all] [--seconds S] [--min-inputs N] [--seed N] [--crash-dir DIR]";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("error: {msg}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let mut target = "all".to_string();
    let mut limits = Limits {
        duration: Duration::from_secs(60),
        crash_dir: "fuzz-crashes".into(),
        ..Limits::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: '{v}' is not a number"))
        };
        match flag.as_str() {
            "--target" => target = value()?,
            "--seconds" => limits.duration = Duration::from_secs(number(value()?)?),
            "--min-inputs" => limits.min_inputs = number(value()?)?,
            "--seed" => limits.seed = number(value()?)?,
            "--crash-dir" => limits.crash_dir = value()?.into(),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let targets: Vec<_> = fuzz::targets::all()
        .into_iter()
        .filter(|t| target == "all" || t.name == target)
        .collect();
    if targets.is_empty() {
        let names: Vec<_> = fuzz::targets::all().iter().map(|t| t.name).collect();
        return Err(format!(
            "no target '{target}' (have: all, {})",
            names.join(", ")
        ));
    }
    println!("{}", fuzz::REPORT_HEADER);
    let mut crashed = false;
    for t in &targets {
        let r = fuzz::run_target(t, &limits);
        println!("{}", fuzz::format_report(&r));
        for c in &r.crashes {
            crashed = true;
            eprintln!(
                "  {} {}: {} (input: {})",
                r.target,
                c.kind,
                c.message,
                c.saved
                    .as_ref()
                    .map_or("not saved".into(), |p| p.display().to_string())
            );
        }
    }
    Ok(if crashed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
