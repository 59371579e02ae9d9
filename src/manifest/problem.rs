//! Problems found in a manifest: each names the file position, the key path and, where the
//! fix is known, a hint. Validation collects all of them instead of stopping at the first.

use std::fmt;

use super::yaml::{KeyPath, Pos};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Severity {
    /// The manifest cannot be used.
    Error,
    /// The manifest works but probably not as intended.
    Warning,
}

/// One problem in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// File name as the user gave it.
    pub file: String,
    /// Line and column, when known.
    pub pos: Option<Pos>,
    /// Key path of the offending value; empty for whole-file problems.
    pub path: KeyPath,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when known.
    pub hint: Option<String>,
}

impl Problem {
    /// Returns true if and only if this problem makes the manifest unusable.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(p) = self.pos {
            write!(f, ":{}:{}", p.line, p.column)?;
        }
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, ": {sev}: ")?;
        if !self.path.0.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        super::yaml::write_name(f, &self.message)?;
        if let Some(h) = &self.hint {
            f.write_str("\n  hint: ")?;
            super::yaml::write_name(f, h)?;
        }
        Ok(())
    }
}

/// Problems reported together; displays one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

impl std::error::Error for Problems {}
