//! The input being run right now, so that a hang (seen by the watchdog thread) or an
//! allocation over the cap (seen inside the allocator) can save it before the process
//! stops: neither can be caught by `catch_unwind`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Mutex;

static PTR: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static LEN: AtomicUsize = AtomicUsize::new(0);
/// Target name and crash folder, set once per target (not per input).
static WHERE: Mutex<Option<(String, PathBuf)>> = Mutex::new(None);

/// Names the target being fuzzed and the folder its crashing inputs go to.
pub fn set_target(name: &str, crash_dir: PathBuf) {
    *WHERE.lock().unwrap_or_else(|e| e.into_inner()) = Some((name.to_string(), crash_dir));
}

/// Marks `input` as running. It must stay alive until [`clear`].
pub fn set(input: &[u8]) {
    LEN.store(input.len(), Ordering::Release);
    PTR.store(input.as_ptr() as *mut u8, Ordering::Release);
}

/// No input is running.
pub fn clear() {
    PTR.store(std::ptr::null_mut(), Ordering::Release);
}

/// Writes the running input to `<crash dir>/<target>-<kind>.bin`; returns the path.
pub fn save(kind: &str) -> Option<PathBuf> {
    let ptr = PTR.load(Ordering::Acquire);
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `set`'s caller keeps the input alive while it runs; the runner is stuck
    // inside that input (hang, or this very allocation) while we read it.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, LEN.load(Ordering::Acquire)) };
    let guard = WHERE.try_lock().ok()?;
    let (name, dir) = guard.as_ref()?;
    let _ = std::fs::create_dir_all(dir);
    let path = dir.join(format!("{name}-{kind}.bin"));
    std::fs::write(&path, bytes).ok()?;
    Some(path)
}

/// Saves the running input, prints one line and ends the process (exit status 3).
pub fn abort_with(what: &str, bytes: usize) -> ! {
    let saved = save("fatal");
    let target = WHERE
        .try_lock()
        .ok()
        .and_then(|g| g.as_ref().map(|(n, _)| n.clone()))
        .unwrap_or_default();
    let _ = writeln!(
        std::io::stderr(),
        "fuzz: target {target}: {what} ({bytes} bytes); input saved to {}",
        saved.map_or("(nowhere)".into(), |p| p.display().to_string())
    );
    std::process::exit(3)
}
