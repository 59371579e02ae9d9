//! Fuzz target `http_response`: see `lbconverge_fuzz::http_response`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lbconverge_fuzz::http_response(data));
