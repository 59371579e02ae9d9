//! DNS record types a `dns` health check may query, by their names (RFC 1035, RFC 3596,
//! RFC 2782).

/// Names and numbers, in the order the error message lists them.
const TYPES: [(&str, u16); 9] =
    [("A", 1), ("AAAA", 28), ("NS", 2), ("SOA", 6), ("MX", 15), ("TXT", 16), ("SRV", 33), ("PTR", 12), ("CNAME", 5)];

/// The number of a record type name (any case).
pub fn qtype(name: &str) -> Option<u16> {
    TYPES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, c)| *c)
}

/// The name of a record type number, or `TYPEnn` (RFC 3597).
pub fn qtype_name(code: u16) -> String {
    TYPES.iter().find(|(_, c)| *c == code).map_or_else(|| format!("TYPE{code}"), |(n, _)| (*n).to_string())
}
