//! `cargo run --features gen-docs --example gen-docs -- OUTDIR`: writes the man pages and
//! shell completions of the Debian package under OUTDIR (see [`docs`]). Not installed; run
//! by tools/package.

mod docs;

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(out) = std::env::args_os().nth(1) else {
        eprintln!("usage: gen-docs OUTDIR");
        return ExitCode::FAILURE;
    };
    match docs::write_all(std::path::Path::new(&out)) {
        Ok(files) => {
            for f in files {
                println!("{}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-docs: {}: {e}", std::path::Path::new(&out).display());
            ExitCode::FAILURE
        }
    }
}
