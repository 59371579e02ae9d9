//! Kernel errors: the operation, the object, and the kernel's own error, with a hint where
//! the fix is known. Displays like
//! `add destination 10.0.1.5:443 to tcp 192.0.2.10:443: File exists (os error 17)`.

use std::fmt;
use std::io;

/// A failed kernel operation.
#[derive(Debug)]
pub struct KernelError {
    /// What was attempted, e.g. `add destination`.
    pub op: String,
    /// What it was attempted on.
    pub object: String,
    /// The kernel's answer.
    pub source: io::Error,
    /// How to fix it, when known.
    pub hint: Option<String>,
}

impl KernelError {
    /// An error from an errno value (positive or negative).
    pub fn errno(op: impl Into<String>, object: impl Into<String>, errno: i32) -> Self {
        Self::io(op, object, io::Error::from_raw_os_error(errno.abs()))
    }
    /// An error from an io::Error.
    pub fn io(op: impl Into<String>, object: impl Into<String>, source: io::Error) -> Self {
        KernelError { op: op.into(), object: object.into(), source, hint: None }
    }
    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// The errno, if the cause is one.
    pub fn raw_errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
    /// Returns true if and only if the cause is `errno` (a `libc::E*` constant).
    pub fn is(&self, errno: i32) -> bool {
        self.raw_errno() == Some(errno)
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.op, self.object, self.source)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for KernelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
