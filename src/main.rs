//! The `lbconverge` binary: parse arguments, run the command, print the error once, exit
//! with the code the CLI contract gives (0 ok / no changes, 1 error, 2 changes).

use std::process::ExitCode;

use lbconverge::cli::{self, Exit};

fn main() -> ExitCode {
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
