//! Fuzz target `manifest`: see `lbconverge_fuzz::manifest`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lbconverge_fuzz::manifest(data));
