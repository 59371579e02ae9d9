//! Exit codes, terraform's: 0 success or no changes, 1 error (usage errors too),
//! 2 changes present (`plan --detailed-exitcode`). The only place exit numbers live.

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success; with `--detailed-exitcode`, no changes.
    Ok = 0,
    /// Any error, usage errors included.
    Error = 1,
    /// `plan --detailed-exitcode` found changes.
    Changes = 2,
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e as u8)
    }
}
