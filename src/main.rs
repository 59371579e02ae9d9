//! The `lbconverge` binary: parse arguments, run the command, print the error once, exit
//! with the code the CLI contract gives (0 ok / no changes, 1 error, 2 changes).

use std::process::ExitCode;

use lbconverge::cli::{self, Exit};

fn main() -> ExitCode {
    init_logging();
    let args = match cli::parse_args() {
        Ok(a) => a,
        Err(code) => return code.into(),
    };
    match cli::run(args) {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("{e}");
            Exit::Error.into()
        }
    }
}

/// Logs go to stderr, filtered by `LBCONVERGE_LOG` (e.g. `debug`; default: `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LBCONVERGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
