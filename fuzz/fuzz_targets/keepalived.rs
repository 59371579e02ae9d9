//! Fuzz target `keepalived`: see `lbconverge_fuzz::keepalived`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lbconverge_fuzz::keepalived(data));
