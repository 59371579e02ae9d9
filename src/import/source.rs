//! What the import reads and what it says of a file it cannot read: one source file (its
//! name as shown in locations, and its text) and the located syntax error. Below both the
//! grammar ([`super::conf`]) and the line preprocessing ([`super::expand`]), which share
//! them.

/// One source file.
#[derive(Debug, Clone)]
pub struct Source {
    /// The name shown in locations.
    pub name: String,
    /// Its text.
    pub text: String,
}

/// A file that cannot be read as keepalived.conf.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct SyntaxError {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is wrong and how to fix it.
    pub message: String,
}
