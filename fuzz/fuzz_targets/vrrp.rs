//! Fuzz target `vrrp`: see `lbconverge_fuzz::vrrp`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lbconverge_fuzz::vrrp(data));
