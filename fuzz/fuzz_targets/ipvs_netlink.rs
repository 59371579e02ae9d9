//! Fuzz target `ipvs_netlink`: see `lbconverge_fuzz::ipvs_netlink`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lbconverge_fuzz::ipvs_netlink(data));
