//! Fuzz target `snapshot`: see `lbconverge_fuzz::snapshot`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lbconverge_fuzz::snapshot(data));
