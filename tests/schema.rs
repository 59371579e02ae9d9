//! The checked-in JSON Schema equals the one generated from the manifest types.
//! `LBCONVERGE_BLESS=1 cargo test --test schema` rewrites it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)] // tests

#[test]
fn schema_file_matches_types() {
    let generated = lbconverge::manifest::schema::generate();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/lbconverge.schema.json");
    if std::env::var_os("LBCONVERGE_BLESS").is_some() {
        std::fs::write(path, &generated).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(path).unwrap();
    assert!(
        on_disk == generated,
        "schemas/lbconverge.schema.json is out of date with src/manifest/types.rs; run LBCONVERGE_BLESS=1 cargo test --test schema"
    );
}
