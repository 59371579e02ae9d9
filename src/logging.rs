//! Log lines: how the tracing events of the daemon and of the commands are written to stderr
//! (`--log-format text|json`, env `LBCONVERGE_LOG_FORMAT`), and which subsystem each names.
//!
//! The subsystem comes from the event's target (its module path) through [`TABLE`], one place,
//! so that no call site can forget it; an explicit `subsystem = "..."` field overrides it where
//! the module alone cannot tell (the daemon's main loop logs health, manifest and reconcile
//! lines), and is not printed twice. Targets outside this crate name their crate.
//!
//! ```text
//! text: 2026-12-01T13:00:00.123Z  INFO vrrp: vrrp transition instance=VI_1 from=BACKUP to=MASTER
//! json: {"timestamp":"2026-12-01T13:00:00.123Z","level":"INFO","subsystem":"vrrp",
//!        "message":"vrrp transition","fields":{"instance":"VI_1","from":"BACKUP","to":"MASTER"}}
//! ```
//!
//! Text: RFC 3339 UTC time with milliseconds, the level right-aligned in 5 columns (coloured
//! on a terminal), `subsystem:`, the message, then `key=value` per field in the order given
//! (string values quoted, as tracing's own format does). Control characters are escaped, so an
//! event is always one line. JSON: exactly one object per line with the keys `timestamp`,
//! `level`, `subsystem`, `message` and `fields` (an object, possibly empty; numbers and
//! booleans stay JSON numbers and booleans, anything else is its text). Spans are not shown
//! (lbconverge uses none). Nothing here panics; a line that cannot be written is dropped.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Number, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// `--log-format`: how log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// One line per event for people: time, level, subsystem, message, `key=value` fields.
    #[default]
    Text,
    /// One JSON object per line for log pipelines.
    Json,
}

/// Every subsystem a line of lbconverge names.
pub const SUBSYSTEMS: &[&str] = &[
    "vrrp",      // VRRP instances, their tracking and VIPs
    "health",    // health checks, backends up/down, quorum
    "reconcile", // the daemon's plan-and-apply passes, apply, the kernel
    "manifest",  // reading, validating and reloading the manifest
    "watch",     // watching the manifest file
    "control",   // the control socket `lbconverge status` asks on
    "metrics",   // the Prometheus listener and its status page
    "systemd",   // sd_notify
    "hooks",     // notify commands the daemon runs
    "alerts",    // mail and webhook alerts
    "signals",   // SIGTERM / SIGINT / SIGHUP
    "daemon",    // the daemon starting and stopping
    "cli",       // the commands (validate, plan, apply, ...) and the final error
];

/// Module path (event target) -> subsystem; the longest matching prefix (whole `::`
/// segments) wins. `lbconverge` alone is the binary and the commands.
pub const TABLE: &[(&str, &str)] = &[
    ("lbconverge", "cli"),
    ("lbconverge::cli", "cli"),
    ("lbconverge::import", "cli"),
    ("lbconverge::logging", "cli"),
    ("lbconverge::daemon", "reconcile"),
    ("lbconverge::daemon::control", "control"),
    ("lbconverge::daemon::drains", "health"),
    ("lbconverge::daemon::fifo", "hooks"),
    ("lbconverge::daemon::error", "daemon"),
    ("lbconverge::daemon::health", "health"),
    ("lbconverge::daemon::lvs_lines", "health"),
    ("lbconverge::daemon::hooks", "hooks"),
    ("lbconverge::daemon::instance", "vrrp"),
    ("lbconverge::daemon::instances", "vrrp"),
    ("lbconverge::daemon::lock", "daemon"),
    ("lbconverge::daemon::metrics", "metrics"),
    ("lbconverge::daemon::page", "metrics"),
    ("lbconverge::daemon::platform", "vrrp"),
    ("lbconverge::daemon::realtime", "vrrp"),
    ("lbconverge::daemon::reconcile", "reconcile"),
    ("lbconverge::daemon::serve", "daemon"),
    ("lbconverge::daemon::signals", "signals"),
    ("lbconverge::daemon::spec", "vrrp"),
    ("lbconverge::daemon::state_files", "daemon"),
    ("lbconverge::daemon::status", "control"),
    ("lbconverge::daemon::systemd", "systemd"),
    ("lbconverge::daemon::syncgroup", "vrrp"),
    ("lbconverge::daemon::tracker", "vrrp"),
    ("lbconverge::daemon::trackfile", "vrrp"),
    ("lbconverge::daemon::trackproc", "vrrp"),
    ("lbconverge::daemon::vmacs", "vrrp"),
    ("lbconverge::daemon::watch", "watch"),
    ("lbconverge::vrrp", "vrrp"),
    ("lbconverge::alert", "alerts"),
    ("lbconverge::health", "health"),
    ("lbconverge::child", "health"),
    ("lbconverge::apply", "reconcile"),
    ("lbconverge::plan", "reconcile"),
    ("lbconverge::kernel", "reconcile"),
    ("lbconverge::kernel::linux::procs", "vrrp"),
    ("lbconverge::state_file", "reconcile"),
    ("lbconverge::files", "manifest"),
    ("lbconverge::sys", "reconcile"),
    ("lbconverge::load", "manifest"),
    ("lbconverge::manifest", "manifest"),
    ("lbconverge::model", "manifest"),
    ("lbconverge::family", "manifest"),
    ("lbconverge::utc", "cli"),
    ("lbconverge::text", "cli"),
];

/// The subsystem of an event whose target is `target`, by [`TABLE`]; a target outside
/// lbconverge names its crate (`rustls::conn` -> `rustls`).
pub fn subsystem_of(target: &str) -> &str {
    let matches = |p: &str| target.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with("::"));
    TABLE
        .iter()
        .filter(|(prefix, _)| matches(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map_or_else(|| target.split("::").next().unwrap_or(target), |(_, s)| s)
}

/// Installs the process' logger: events filtered by `LBCONVERGE_LOG` (e.g. `debug`, or
/// `info,lbconverge::vrrp=debug`; default `info`) go to stderr in `format`.
pub fn init(format: Format) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LBCONVERGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = format == Format::Text && std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .log_internal_errors(false)
        .event_format(Formatter::new(format))
        .try_init();
}

/// Prints the error that ends a command, once: as it is in text, as one JSON log line (level
/// `ERROR`, subsystem `cli`) in JSON, so that a JSON log stays JSON to its last line.
pub fn fatal(format: Format, message: &str) {
    let text = match format {
        Format::Text => format!("{message}\n"),
        Format::Json => Line { at: SystemTime::now(), level: "ERROR", subsystem: "cli", message, fields: &[] }.json(),
    };
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// The event formatter of both formats; its clock can be fixed for tests.
#[derive(Debug, Clone, Copy)]
pub struct Formatter {
    format: Format,
    fixed_time: Option<SystemTime>,
}

impl Formatter {
    /// Lines in `format`, stamped with the current time.
    pub fn new(format: Format) -> Self {
        Formatter { format, fixed_time: None }
    }

    /// Every line stamped with `at` instead of the current time (golden tests).
    pub fn at_fixed_time(self, at: SystemTime) -> Self {
        Formatter { fixed_time: Some(at), ..self }
    }

    /// The whole line (with its newline) for `event`.
    fn line(&self, event: &Event<'_>, ansi: bool) -> String {
        let mut v = Collect::default();
        event.record(&mut v);
        let meta = event.metadata();
        let line = Line {
            at: self.fixed_time.unwrap_or_else(SystemTime::now),
            level: meta.level().as_str(),
            subsystem: v.subsystem.as_deref().unwrap_or_else(|| subsystem_of(meta.target())),
            message: v.message.as_deref().unwrap_or_default(),
            fields: &v.fields,
        };
        match self.format {
            Format::Text => line.text(ansi),
            Format::Json => line.json(),
        }
    }
}

impl<S, N> FormatEvent<S, N> for Formatter
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let line = self.line(event, writer.has_ansi_escapes());
        writer.write_str(&line)
    }
}

/// A field's value as it was recorded.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    /// A string (`field = "text"`, `field = name.as_str()`): quoted in text.
    Str(String),
    /// Anything shown with `%` or `?`: as shown.
    Shown(String),
    /// An integer or a finite float.
    Num(Number),
    /// A boolean.
    Bool(bool),
}

impl Val {
    fn json(&self) -> Value {
        match self {
            Val::Str(s) | Val::Shown(s) => Value::String(s.clone()),
            Val::Num(n) => Value::Number(n.clone()),
            Val::Bool(b) => Value::Bool(*b),
        }
    }

    fn text(&self) -> String {
        match self {
            Val::Str(s) => format!("{s:?}"),
            Val::Shown(s) => escaped(s).into_owned(),
            Val::Num(n) => n.to_string(),
            Val::Bool(b) => b.to_string(),
        }
    }
}

/// The fields of one event: the message, an explicit subsystem, and the others in order.
#[derive(Debug, Default)]
struct Collect {
    message: Option<String>,
    subsystem: Option<String>,
    fields: Vec<(&'static str, Val)>,
}

impl Collect {
    fn put(&mut self, field: &Field, v: Val) {
        match (field.name(), v) {
            ("message", Val::Str(s) | Val::Shown(s)) => self.message = Some(s),
            ("subsystem", Val::Str(s) | Val::Shown(s)) => self.subsystem = Some(s),
            (name, v) => self.fields.push((name, v)),
        }
    }
}

impl Visit for Collect {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Val::Shown(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Val::Str(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Val::Num(value.into()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Val::Num(value.into()));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        let v = i64::try_from(value).map_or_else(|_| Val::Shown(value.to_string()), |n| Val::Num(n.into()));
        self.put(field, v);
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        let v = u64::try_from(value).map_or_else(|_| Val::Shown(value.to_string()), |n| Val::Num(n.into()));
        self.put(field, v);
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        let v = Number::from_f64(value).map_or_else(|| Val::Shown(value.to_string()), Val::Num);
        self.put(field, v);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Val::Bool(value));
    }
}

/// One log line's parts.
struct Line<'a> {
    at: SystemTime,
    level: &'a str,
    subsystem: &'a str,
    message: &'a str,
    fields: &'a [(&'static str, Val)],
}

impl Line<'_> {
    /// `2026-12-01T13:00:00.123Z  INFO vrrp: message key=value`, newline included.
    fn text(&self, ansi: bool) -> String {
        let level = match (ansi, colour(self.level)) {
            (true, Some(c)) => format!("\x1b[{c}m{:>5}\x1b[0m", self.level),
            _ => format!("{:>5}", self.level),
        };
        let mut s = format!("{} {level} {}:", rfc3339_ms(self.at), escaped(self.subsystem));
        if !self.message.is_empty() {
            s.push(' ');
            s.push_str(&escaped(self.message));
        }
        for (name, v) in self.fields {
            s.push_str(&format!(" {name}={}", v.text()));
        }
        s.push('\n');
        s
    }

    /// One JSON object and a newline.
    fn json(&self) -> String {
        let fields: Map<String, Value> = self.fields.iter().map(|(k, v)| ((*k).to_string(), v.json())).collect();
        let mut o = Map::new();
        o.insert("timestamp".into(), Value::String(rfc3339_ms(self.at)));
        o.insert("level".into(), Value::String(self.level.to_string()));
        o.insert("subsystem".into(), Value::String(self.subsystem.to_string()));
        o.insert("message".into(), Value::String(self.message.to_string()));
        o.insert("fields".into(), Value::Object(fields));
        let mut s = Value::Object(o).to_string();
        s.push('\n');
        s
    }
}

/// tracing's own level colours.
fn colour(level: &str) -> Option<u8> {
    match level {
        "ERROR" => Some(31),
        "WARN" => Some(33),
        "INFO" => Some(32),
        "DEBUG" => Some(34),
        "TRACE" => Some(35),
        _ => None,
    }
}

/// `s` with control characters (newlines, terminal escapes) and invisible ones escaped by
/// [`crate::text`]'s rule: one line, no escapes.
fn escaped(s: &str) -> std::borrow::Cow<'_, str> {
    crate::text::escaped(s)
}

/// `t` as RFC 3339 in UTC with milliseconds: `2026-12-01T13:00:00.123Z`.
fn rfc3339_ms(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    crate::utc::rfc3339(d.as_secs(), Some(d.subsec_millis()))
}

#[cfg(test)]
pub(crate) mod capture {
    //! Test only: captures what one test thread logs, as `lbconverge` writes it. A scoped subscriber
    //! per test (`tracing::subscriber::with_default`) would lose events: tracing-core caches
    //! each callsite's interest for all threads, computed from the subscribers it saw, and a
    //! callsite another test thread registers while a scoped subscriber is being set up can
    //! stay disabled for it. So there is one global subscriber for the test binary whose
    //! filter is asked at every event (interest "sometimes") and keeps only the events of a
    //! thread that is capturing, each formatted with that thread's [`Formatter`].

    use std::cell::RefCell;

    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// A capture: the formatter, the most verbose level kept, the lines so far.
    type Capture = (Formatter, tracing::Level, Vec<u8>);

    thread_local! {
        static CAPTURE: RefCell<Option<Capture>> = const { RefCell::new(None) };
    }

    /// Runs `f` with what this thread logs at `level` and up written by `formatter`;
    /// returns the lines.
    pub(crate) fn logged(formatter: Formatter, level: tracing::Level, f: impl FnOnce()) -> String {
        install();
        CAPTURE.with(|c| *c.borrow_mut() = Some((formatter, level, Vec::new())));
        f();
        let bytes = CAPTURE.with(|c| c.borrow_mut().take()).map(|(_, _, b)| b).unwrap_or_default();
        String::from_utf8(bytes).unwrap()
    }

    fn install() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let capturing = tracing_subscriber::filter::dynamic_filter_fn(|m, _| {
                CAPTURE.with(|c| c.try_borrow().is_ok_and(|c| c.as_ref().is_some_and(|(_, l, _)| m.level() <= l)))
            });
            let layer = tracing_subscriber::fmt::layer().with_writer(|| Sink).event_format(ByThread);
            let _ = tracing::subscriber::set_global_default(
                tracing_subscriber::registry().with(layer.with_filter(capturing)),
            );
        });
    }

    /// Formats with the capturing thread's formatter.
    struct ByThread;

    impl<S, N> FormatEvent<S, N> for ByThread
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
        N: for<'a> FormatFields<'a> + 'static,
    {
        fn format_event(&self, _: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
            let formatter = CAPTURE.with(|c| c.try_borrow().ok().and_then(|c| c.as_ref().map(|(f, _, _)| *f)));
            formatter.map_or(Ok(()), |f| writer.write_str(&f.line(event, false)))
        }
    }

    /// Appends to the capturing thread's lines.
    struct Sink;

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            CAPTURE.with(|c| {
                if let Ok(mut c) = c.try_borrow_mut()
                    && let Some((_, _, lines)) = c.as_mut()
                {
                    lines.extend_from_slice(b);
                }
            });
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// 2026-12-01T13:00:00.123Z
    fn at() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_796_130_000_123)
    }

    /// What `f` logs through a [`Formatter`] in `format` (fixed clock, every level).
    fn capture(format: Format, f: impl FnOnce()) -> String {
        super::capture::logged(Formatter::new(format).at_fixed_time(at()), tracing::Level::TRACE, f)
    }

    /// A few events as the daemon logs them: derived subsystems, an explicit one, every
    /// kind of field value.
    fn events() {
        let (from, to, reason) = ("BACKUP", "MASTER", "master down timer expired (3.609s without adverts)");
        tracing::info!(
            target: "lbconverge::daemon::instance",
            instance = "VI_1",
            vrid = 10,
            from = %from,
            to = %to,
            priority = 100u8,
            reason = %reason,
            "vrrp transition"
        );
        tracing::warn!(
            target: "lbconverge::daemon",
            subsystem = "health",
            service = %"web",
            backend = %"rs2",
            reason = %"connect refused",
            "backend down"
        );
        tracing::debug!(target: "lbconverge::load", ms = 1.5, cached = true, delta = -3i64, "manifest read");
        tracing::error!(target: "lbconverge::daemon", outcome = ?Some(2), "Node lb1: 1 to add");
        tracing::info!(target: "rustls::conn", big = u128::MAX);
    }

    #[test]
    fn text_lines_name_the_subsystem_after_the_level() {
        let want = "\
2026-12-01T13:00:00.123Z  INFO vrrp: vrrp transition instance=\"VI_1\" vrid=10 from=BACKUP to=MASTER priority=100 reason=master down timer expired (3.609s without adverts)
2026-12-01T13:00:00.123Z  WARN health: backend down service=web backend=rs2 reason=connect refused
2026-12-01T13:00:00.123Z DEBUG manifest: manifest read ms=1.5 cached=true delta=-3
2026-12-01T13:00:00.123Z ERROR reconcile: Node lb1: 1 to add outcome=Some(2)
2026-12-01T13:00:00.123Z  INFO rustls: big=340282366920938463463374607431768211455
";
        assert_eq!(capture(Format::Text, events), want);
    }

    #[test]
    fn json_lines_are_one_object_each_with_typed_fields() {
        let want = r#"{"timestamp":"2026-12-01T13:00:00.123Z","level":"INFO","subsystem":"vrrp","message":"vrrp transition","fields":{"instance":"VI_1","vrid":10,"from":"BACKUP","to":"MASTER","priority":100,"reason":"master down timer expired (3.609s without adverts)"}}
{"timestamp":"2026-12-01T13:00:00.123Z","level":"WARN","subsystem":"health","message":"backend down","fields":{"service":"web","backend":"rs2","reason":"connect refused"}}
{"timestamp":"2026-12-01T13:00:00.123Z","level":"DEBUG","subsystem":"manifest","message":"manifest read","fields":{"ms":1.5,"cached":true,"delta":-3}}
{"timestamp":"2026-12-01T13:00:00.123Z","level":"ERROR","subsystem":"reconcile","message":"Node lb1: 1 to add","fields":{"outcome":"Some(2)"}}
{"timestamp":"2026-12-01T13:00:00.123Z","level":"INFO","subsystem":"rustls","message":"","fields":{"big":"340282366920938463463374607431768211455"}}
"#;
        assert_eq!(capture(Format::Json, events), want);
    }

    #[test]
    fn a_multi_line_message_or_a_terminal_escape_stays_on_one_line() {
        let log = || tracing::warn!(target: "lbconverge::daemon", what = %"a\nb", "one\ntwo \u{1b}[31mred");
        assert_eq!(
            capture(Format::Text, log),
            "2026-12-01T13:00:00.123Z  WARN reconcile: one\\ntwo \\x1b[31mred what=a\\nb\n"
        );
        let json = capture(Format::Json, log);
        assert_eq!(json.lines().count(), 1, "{json}");
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["message"], "one\ntwo \u{1b}[31mred");
        assert_eq!(v["fields"]["what"], "a\nb");
    }

    #[test]
    fn the_subsystem_comes_from_the_longest_matching_module_path() {
        for (target, want) in [
            ("lbconverge", "cli"),
            ("lbconverge::cli::apply_cmd", "cli"),
            ("lbconverge::daemon", "reconcile"),
            ("lbconverge::daemon::instance", "vrrp"),
            ("lbconverge::daemon::instances", "vrrp"),
            ("lbconverge::daemon::tracker", "vrrp"),
            ("lbconverge::daemon::trackfile", "vrrp"),
            ("lbconverge::daemon::trackproc", "vrrp"),
            ("lbconverge::kernel::linux::procs", "vrrp"),
            ("lbconverge::daemon::vmacs", "vrrp"),
            ("lbconverge::daemon::watch", "watch"),
            ("lbconverge::daemon::status", "control"),
            ("lbconverge::daemon::metrics", "metrics"),
            ("lbconverge::daemon::systemd", "systemd"),
            ("lbconverge::daemon::health", "health"),
            ("lbconverge::daemon::hooks", "hooks"),
            ("lbconverge::daemon::reconcile", "reconcile"),
            ("lbconverge::daemon::signals", "signals"),
            ("lbconverge::vrrp::fsm", "vrrp"),
            ("lbconverge::health::engine", "health"),
            ("lbconverge::apply", "reconcile"),
            ("lbconverge::kernel::linux::ipvs", "reconcile"),
            ("lbconverge::load::git", "manifest"),
            ("lbconverge::healthy", "cli"),
            ("rustls::conn", "rustls"),
            ("notify", "notify"),
        ] {
            assert_eq!(subsystem_of(target), want, "{target}");
        }
    }

    /// Every module of the crate and of the daemon has its own row, so a new module cannot
    /// log under a borrowed name unnoticed; every row names a known subsystem.
    #[test]
    fn every_module_has_a_row_naming_a_known_subsystem() {
        let mods = |text: &str, prefix: &str| -> Vec<String> {
            text.lines()
                .filter_map(|l| l.trim().strip_prefix("pub mod ").or_else(|| l.trim().strip_prefix("mod ")))
                .filter_map(|l| l.strip_suffix(';'))
                .filter(|m| !matches!(*m, "tests" | "testkit"))
                .map(|m| format!("{prefix}::{m}"))
                .collect()
        };
        let mut all = mods(include_str!("lib.rs"), "lbconverge");
        all.extend(mods(include_str!("daemon/mod.rs"), "lbconverge::daemon"));
        assert!(all.len() > 20, "{all:?}");
        for m in &all {
            assert!(TABLE.iter().any(|(p, _)| p == m), "{m} has no row in logging::TABLE");
        }
        for (p, s) in TABLE {
            assert!(SUBSYSTEMS.contains(s), "{p} -> {s} is not in SUBSYSTEMS");
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        for (ms, want) in [
            (0, "1970-01-01T00:00:00.000Z"),
            (951_868_800_000, "2000-03-01T00:00:00.000Z"),
            (1_709_251_199_999, "2024-02-29T23:59:59.999Z"),
            (1_796_130_000_123, "2026-12-01T13:00:00.123Z"),
        ] {
            assert_eq!(rfc3339_ms(UNIX_EPOCH + Duration::from_millis(ms)), want);
        }
        assert_eq!(rfc3339_ms(UNIX_EPOCH - Duration::from_secs(1)), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn the_final_error_is_one_json_line_of_the_cli() {
        let line = Line { at: at(), level: "ERROR", subsystem: "cli", message: "bad\nthing", fields: &[] }.json();
        assert_eq!(
            line,
            "{\"timestamp\":\"2026-12-01T13:00:00.123Z\",\"level\":\"ERROR\",\"subsystem\":\"cli\",\"message\":\"bad\\nthing\",\"fields\":{}}\n"
        );
    }

    #[test]
    fn the_level_is_coloured_on_a_terminal_only() {
        let line = Line { at: at(), level: "WARN", subsystem: "watch", message: "m", fields: &[] };
        assert_eq!(line.text(true), "2026-12-01T13:00:00.123Z \x1b[33m WARN\x1b[0m watch: m\n");
        assert_eq!(line.text(false), "2026-12-01T13:00:00.123Z  WARN watch: m\n");
    }
}
