//! Commands the daemon runs on events: a VRRP instance's `notify` on every transition, and
//! per service `notify_up` / `notify_down` when a backend changes and `quorum_up` /
//! `quorum_down` when the service gains or loses quorum. No shell: `{name}` placeholders in
//! the arguments are replaced, and the daemon does not wait (a thread reaps the child).

/// Starts `argv` with `{key}` replaced by its value in every argument, plus `extra`
/// arguments; `event` names it in the log when it cannot start.
pub fn run(argv: &[String], vars: &[(&str, String)], extra: &[String], event: &str) {
    let args: Vec<String> = argv.iter().map(|a| substitute(a, vars)).chain(extra.iter().cloned()).collect();
    let Some((prog, rest)) = args.split_first() else { return };
    match std::process::Command::new(prog).args(rest).stdin(std::process::Stdio::null()).spawn() {
        Ok(mut child) => {
            let reaped = std::thread::Builder::new().name("hook".into()).spawn(move || child.wait());
            if let Err(e) = reaped {
                tracing::warn!(%event, command = %prog, error = %e, "command started, not reaped");
            }
        }
        Err(e) => tracing::warn!(%event, command = %prog, error = %e, "command not started"),
    }
}

fn substitute(arg: &str, vars: &[(&str, String)]) -> String {
    vars.iter().fold(arg.to_string(), |a, (k, v)| a.replace(&format!("{{{k}}}"), v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced_in_every_argument() {
        let vars = [("service", "web".to_string()), ("port", "80".to_string())];
        assert_eq!(substitute("{service}:{port}/{other}", &vars), "web:80/{other}");
    }

    #[test]
    fn the_command_runs_with_its_arguments() {
        let dir = std::env::temp_dir().join(format!("lbc-hooks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let argv: Vec<String> =
            ["/bin/sh", "-c", "echo \"$@\" > \"$0\"", out.to_str().unwrap(), "{service}"].map(String::from).to_vec();
        run(&argv, &[("service", "web".into())], &["DOWN".into()], "test");
        let t = std::time::Instant::now();
        while std::fs::read_to_string(&out).unwrap_or_default() != "web DOWN\n" {
            assert!(t.elapsed() < std::time::Duration::from_secs(5), "the hook did not run");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
