//! Runs one target: mutates corpus entries, runs each input under `catch_unwind` with a
//! watchdog (per-input time limit) and the counting allocator's peak (memory limit), and
//! reports inputs tried, accepted and every failure with the input saved to disk.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::mutate::{byte_edit, text_edit, Rng};
use super::{alloc, current};

/// A structure-aware mutation: `None` when the input cannot be decoded that far.
pub type Structured = fn(&[u8], &mut Rng) -> Option<Vec<u8>>;

/// A parser under test.
pub struct Target {
    pub name: &'static str,
    /// Valid (or nearly valid) inputs to start from.
    pub seeds: Vec<Vec<u8>>,
    /// Runs the parser (and what the tool does next with its result); true when the
    /// input was accepted. A panic is a crash; returning `false` is a clean rejection.
    pub run: fn(&[u8]) -> bool,
    /// Decode, edit a field, re-encode with valid checksums and lengths.
    pub structured: Option<Structured>,
    /// Text format: use line and token mutations as well as byte ones.
    pub text: bool,
}

/// Limits and budget of one run.
#[derive(Clone, Debug)]
pub struct Limits {
    pub duration: Duration,
    /// Keep going past `duration` until this many inputs were tried.
    pub min_inputs: u64,
    /// One input running longer than this is a hang (the process stops with a report).
    pub per_input: Duration,
    /// An input whose parse peaks above `base + factor * input length` bytes is a
    /// memory failure: nothing legitimate allocates that much more than it read.
    pub mem_base: usize,
    pub mem_factor: usize,
    pub seed: u64,
    pub crash_dir: PathBuf,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            duration: Duration::from_secs(1),
            min_inputs: 0,
            per_input: Duration::from_secs(5),
            mem_base: 16 << 20,
            mem_factor: 64,
            seed: 1,
            crash_dir: std::env::temp_dir().join("fuzz-crashes"),
        }
    }
}

/// One failing input.
#[derive(Clone, Debug)]
pub struct Crash {
    pub kind: &'static str,
    pub message: String,
    pub saved: Option<PathBuf>,
}

/// What one target's run found.
#[derive(Clone, Debug)]
pub struct Report {
    pub target: &'static str,
    pub inputs: u64,
    pub accepted: u64,
    pub seconds: f64,
    pub max_input_ms: f64,
    pub crashes: Vec<Crash>,
    /// Distinct crashes beyond the first few are counted, not kept.
    pub crash_count: u64,
}

thread_local! {
    static PANIC_MSG: RefCell<Option<String>> = const { RefCell::new(None) };
}
static QUIET: AtomicBool = AtomicBool::new(false);

/// Panics inside fuzz inputs are recorded, not printed (other panics print as usual).
fn install_panic_hook() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.load(Ordering::Relaxed) {
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let msg = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(non-string panic)".into());
                PANIC_MSG.with(|m| *m.borrow_mut() = Some(format!("{msg}{at}")));
            } else {
                default(info);
            }
        }));
    });
}

/// Milliseconds since `EPOCH`, the watchdog's clock (0 = no input running).
fn now_ms(epoch: Instant) -> u64 {
    epoch.elapsed().as_millis() as u64 + 1
}

/// Stops the process with a report when one input runs past `limit`.
fn watchdog(started: Arc<AtomicU64>, done: Arc<AtomicBool>, epoch: Instant, limit: Duration) {
    std::thread::spawn(move || {
        while !done.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
            let s = started.load(Ordering::Relaxed);
            if s != 0 && now_ms(epoch).saturating_sub(s) > limit.as_millis() as u64 {
                current::abort_with(
                    &format!("hang: one input ran over {} ms", limit.as_millis()),
                    0,
                );
            }
        }
    });
}

/// A mutated copy of a corpus entry.
fn mutant(target: &Target, corpus: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
    let base = rng.pick(corpus);
    let other = rng.pick(corpus);
    if let Some(structured) = target.structured {
        if rng.chance(2) {
            if let Some(m) = structured(base, rng) {
                return m;
            }
        }
    }
    let mut data = base.clone();
    for _ in 0..1 + rng.below(4) {
        if target.text && rng.chance(2) {
            text_edit(&mut data, other, rng);
        } else {
            byte_edit(&mut data, other, rng);
        }
    }
    data
}

/// Corpus entries beyond the seeds: accepted mutants, the only feedback without coverage.
const MAX_CORPUS: usize = 512;
/// Crashes kept in full per target.
const MAX_KEPT: usize = 8;

/// Fuzzes `target` within `limits`.
pub fn run_target(target: &Target, limits: &Limits) -> Report {
    install_panic_hook();
    current::set_target(target.name, limits.crash_dir.clone());
    let epoch = Instant::now();
    let started = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    watchdog(started.clone(), done.clone(), epoch, limits.per_input);
    let mut rng = Rng::new(limits.seed);
    let mut corpus = target.seeds.clone();
    let mut report = Report {
        target: target.name,
        inputs: 0,
        accepted: 0,
        seconds: 0.0,
        max_input_ms: 0.0,
        crashes: Vec::new(),
        crash_count: 0,
    };
    let t0 = Instant::now();
    // The seeds themselves first, then mutants.
    let mut next_seed = 0;
    while next_seed < target.seeds.len()
        || t0.elapsed() < limits.duration
        || report.inputs < limits.min_inputs
    {
        let input = if next_seed < target.seeds.len() {
            next_seed += 1;
            target.seeds[next_seed - 1].clone()
        } else {
            mutant(target, &corpus, &mut rng)
        };
        current::set(&input);
        alloc::reset_peak();
        let base = alloc::live();
        let t_in = Instant::now();
        started.store(now_ms(epoch), Ordering::Relaxed);
        QUIET.store(true, Ordering::Relaxed);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| (target.run)(&input)));
        QUIET.store(false, Ordering::Relaxed);
        started.store(0, Ordering::Relaxed);
        let ms = t_in.elapsed().as_secs_f64() * 1e3;
        report.max_input_ms = report.max_input_ms.max(ms);
        let used = alloc::peak().saturating_sub(base);
        let allowed = limits.mem_base + limits.mem_factor * input.len();
        let failure = match outcome {
            Err(_) => Some((
                "panic",
                PANIC_MSG
                    .with(|m| m.borrow_mut().take())
                    .unwrap_or_default(),
            )),
            Ok(_) if alloc::installed() && used > allowed => Some((
                "memory",
                format!(
                    "peak {used} bytes for a {}-byte input (limit {allowed})",
                    input.len()
                ),
            )),
            Ok(accepted) => {
                if accepted {
                    report.accepted += 1;
                    if next_seed >= target.seeds.len() && corpus.len() < MAX_CORPUS {
                        corpus.push(input.clone());
                    }
                }
                None
            }
        };
        if let Some((kind, message)) = failure {
            report.crash_count += 1;
            let duplicate = report.crashes.iter().any(|c| c.message == message);
            if !duplicate && report.crashes.len() < MAX_KEPT {
                let saved = current::save(&format!("{kind}-{}", report.crashes.len()));
                report.crashes.push(Crash {
                    kind,
                    message,
                    saved,
                });
            }
        }
        current::clear();
        report.inputs += 1;
    }
    done.store(true, Ordering::Relaxed);
    report.seconds = t0.elapsed().as_secs_f64();
    report
}
