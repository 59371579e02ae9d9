//! Fuzz target `dns_answer`: see `lbconverge_fuzz::dns_answer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lbconverge_fuzz::dns_answer(data));
