//! Passwords. VRRPv2 PASS: what lbconverge sends (1 to 8 bytes of the secret's first line)
//! and, for a longer one, the 8 bytes keepalived would send instead; a check's HTTP basic
//! authentication: what a usable password is. Pure; used by validation (password files),
//! the node checks (password variables), the daemon and the probes.

/// The usable part of a PASS password (line end removed), or what is wrong with it.
pub fn usable(line: &str) -> Result<&str, usize> {
    let t = line.trim_end_matches(['\r', '\n']);
    if t.is_empty() || t.len() > 8 { Err(t.len()) } else { Ok(t) }
}

/// [`usable`] as a message and a hint; for a long password, the 8 bytes keepalived
/// actually sends (it truncates with a warning; lbconverge refuses).
pub fn problem(line: &str) -> Result<(), (String, String)> {
    match usable(line) {
        Ok(_) => Ok(()),
        Err(0) => Err(("the password is empty".into(), "put the password (1 to 8 bytes) on the first line".into())),
        Err(len) => {
            let t = line.trim_end_matches(['\r', '\n']);
            let sent = String::from_utf8_lossy(&t.as_bytes()[..8]).into_owned();
            Err((
                format!("the password is {len} bytes; VRRPv2 PASS carries at most 8"),
                format!(
                    "keepalived cuts it to the 8 bytes `{}` and sends those; write exactly those to keep a keepalived peer",
                    crate::manifest::yaml::shown(&sent)
                ),
            ))
        }
    }
}

/// A check's basic-authentication password (RFC 7617): the first line, not empty and
/// without control characters; as a message and a hint when it is not.
pub fn basic_problem(line: &str) -> Result<(), (String, String)> {
    let t = line.trim_end_matches(['\r', '\n']);
    if t.is_empty() {
        return Err(("the password is empty".into(), "put the password on the first line".into()));
    }
    if t.chars().any(char::is_control) {
        let hint = "an HTTP basic-auth password may not hold control characters".into();
        return Err(("the password holds a control character".into(), hint));
    }
    Ok(())
}
