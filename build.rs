//! Build script: links the `lbconverge` binary with its functions in the order
//! `dist/link-order.txt` gives (written by tools/gen-link-order from the daemon's own runs):
//! the steady state's code first, then what only start-up and reloads run, then the rest.
//! A running daemon then keeps a few pages of its binary resident instead of most of it
//! (BENCHMARKS.md, "Binary size and resident memory"). The option is lld's, the linker
//! rustc uses on x86_64 Linux unless RUSTFLAGS choose another linker; a function the file
//! names that this build lacks is skipped, so a stale file costs memory, never a failed link.

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=dist/link-order.txt");
    let target = |key: &str| env::var(format!("CARGO_CFG_TARGET_{key}")).unwrap_or_default();
    let lld = (target("ARCH"), target("OS"), target("ENV")) == ("x86_64".into(), "linux".into(), "gnu".into())
        && !env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default().contains("linker");
    if !lld {
        return;
    }
    let order = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("dist/link-order.txt");
    if order.is_file() {
        println!("cargo:rustc-link-arg-bin=lbconverge=-Wl,--symbol-ordering-file={}", order.display());
        println!("cargo:rustc-link-arg-bin=lbconverge=-Wl,--no-warn-symbol-ordering");
    }
}
