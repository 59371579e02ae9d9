//! Man pages and shell completions generated from the real CLI definition
//! (`lbconverge::cli::Cli`) for the Debian package: `lbconverge(8)` and one page per
//! subcommand (`lbconverge-plan(8)`, ...) with `clap_mangen`; bash, zsh and fish completions
//! with `clap_complete`. Shared by the `gen-docs` example (tools/package) and
//! tests/package.rs, so the files the test installs are the ones the package ships.

use std::io;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

/// Section 8: lbconverge is installed in /usr/sbin (system administration).
const SECTION: &str = "8";

/// Writes `man/*.8` and `completions/{lbconverge.bash,_lbconverge,lbconverge.fish}` under
/// `out`, replacing what was there; returns every file written.
pub fn write_all(out: &Path) -> io::Result<Vec<PathBuf>> {
    let man_dir = out.join("man");
    let completions_dir = out.join("completions");
    for dir in [&man_dir, &completions_dir] {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::create_dir_all(dir)?;
    }
    let mut written = man_pages(&man_dir)?;
    written.extend(completions(&completions_dir)?);
    Ok(written)
}

/// `lbconverge.8` and `lbconverge-SUBCOMMAND.8` for every visible subcommand, nested ones
/// too (`lbconverge-import-keepalived.8`).
fn man_pages(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut cmd = lbconverge::cli::Cli::command();
    // Fills in display names (`lbconverge-plan`) and the global options of subcommands.
    cmd.build();
    let mut pages = Vec::new();
    pages_of(&cmd, dir, &mut pages)?;
    Ok(pages)
}

fn pages_of(cmd: &clap::Command, dir: &Path, pages: &mut Vec<PathBuf>) -> io::Result<()> {
    pages.push(page(cmd.clone(), dir)?);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages_of(sub, dir, pages)?;
    }
    Ok(())
}

/// One page, named after the command's display name, in [`SECTION`].
fn page(cmd: clap::Command, dir: &Path) -> io::Result<PathBuf> {
    let man = clap_mangen::Man::new(cmd)
        .section(SECTION)
        .manual("lbconverge manual")
        .source(concat!("lbconverge ", env!("CARGO_PKG_VERSION")));
    let path = dir.join(man.get_filename());
    let mut text = Vec::new();
    man.render(&mut text)?;
    std::fs::write(&path, text)?;
    Ok(path)
}

/// Completion scripts under the names their shells look for.
fn completions(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut cmd = lbconverge::cli::Cli::command();
    let mut written = Vec::new();
    for (shell, file) in
        [(Shell::Bash, "lbconverge.bash"), (Shell::Zsh, "_lbconverge"), (Shell::Fish, "lbconverge.fish")]
    {
        let mut text = Vec::new();
        clap_complete::generate(shell, &mut cmd, "lbconverge", &mut text);
        let path = dir.join(file);
        std::fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}
