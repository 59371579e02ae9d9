//! Fuzz target `plan_file`: see `lbconverge_fuzz::plan_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lbconverge_fuzz::plan_file(data));
