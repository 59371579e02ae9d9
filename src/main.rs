//! The `lbconverge` binary: parse arguments, set up logging (`--log-format`), run the command,
//! print the error once, exit with the code the CLI contract gives (0 ok / no changes,
//! 1 error, 2 changes).

use std::process::ExitCode;

use lbconverge::cli::{self, Exit};
use lbconverge::logging;

fn main() -> ExitCode {
    let args = match cli::parse_args() {
        Ok(a) => a,
        Err(code) => return code.into(),
    };
    let format = args.log_format;
    logging::init(format);
    match cli::run(args) {
        Ok(code) => code.into(),
        Err(e) => {
            logging::fatal(format, &e.to_string());
            Exit::Error.into()
        }
    }
}
