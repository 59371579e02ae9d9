//! Helpers for tests and benchmarks, shared by the unit tests and the integration tests:
//! a seeded random generator, so that "random" inputs are the same on every run and a
//! failure can be replayed; the one switch that rewrites golden files; scratch
//! directories; the FIFOs bad-input tests put where a file should be; and the processes a
//! test left running, found by a marker in their command line.

use std::path::{Path, PathBuf};

/// True when golden files should be rewritten instead of compared: `LBCONVERGE_BLESS=1`
/// (or `true`, `yes`). `LBCONVERGE_BLESS=0`, empty or unset compares.
pub fn blessing() -> bool {
    matches!(std::env::var("LBCONVERGE_BLESS").as_deref(), Ok("1" | "true" | "yes"))
}

/// Marsaglia's xorshift64 (shifts 13, 7, 17) from a fixed seed. Not for anything but tests.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced: xorshift would stay at 0 forever).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 { 0x9e37_79b9_7f4a_7c15 } else { seed })
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (`n` > 0; 0 for `n` = 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64().checked_rem(n).unwrap_or(0)
    }

    /// The low byte of the next number.
    pub fn byte(&mut self) -> u8 {
        self.next_u64().to_le_bytes()[0]
    }

    /// A fraction in `[0, 1)`, from the top 53 bits.
    pub fn fraction(&mut self) -> f64 {
        const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
        (self.next_u64() >> 11) as f64 * SCALE
    }
}

/// A directory of its own under the temporary directory (`lbc-<name>-<pid>`), made empty,
/// and removed when dropped.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    /// Makes it, removing what an earlier run left.
    pub fn new(name: &str) -> std::io::Result<Scratch> {
        let d = std::env::temp_dir().join(format!("lbc-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d)?;
        Ok(Scratch(d))
    }

    /// A path inside it.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Makes a FIFO (mode 0600) at `p`.
pub fn mkfifo(p: &Path) -> std::io::Result<()> {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: c is a valid NUL-terminated path that outlives the call.
    match unsafe { libc::mkfifo(c.as_ptr(), 0o600) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// For code that opens a FIFO blocking (what a bad-input test proves the code no longer
/// does): after `after` a writer comes to the FIFO at `p` and writes garbage, so that such
/// code fails the test instead of hanging it. Writes nothing unless `p` is still a FIFO
/// that someone reads.
pub fn unblock_later(p: &Path, after: std::time::Duration) {
    use std::io::Write;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let p = p.to_path_buf();
    std::thread::spawn(move || {
        std::thread::sleep(after);
        let opened = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(&p);
        if let Ok(mut f) = opened
            && f.metadata().is_ok_and(|m| m.file_type().is_fifo())
        {
            let _ = f.write_all(b"garbage from a late writer");
        }
    });
}

/// The pids of the processes whose command line contains `marker` (a test's own marked
/// commands, to tell whether they are still running).
pub fn pids_with(marker: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse::<i32>().ok()) else { continue };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(marker) {
            found.push(pid);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn same_seed_same_numbers() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        let mut x = 7u64;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        assert_eq!(xs[0], x);
        assert!((0..1000).all(|_| a.below(10) < 10 && (0.0..1.0).contains(&a.fraction())));
    }
}
