//! A small SMTP client (RFC 5321), enough to hand one message to a relay: the greeting,
//! EHLO (HELO when the server refuses EHLO), MAIL FROM, one RCPT TO per recipient, DATA with
//! the message [`super::format::smtp_data`] made (CRLF, dot-stuffed), QUIT. No
//! authentication and no TLS, as keepalived sends its mail. The connection has the mail's
//! `connect_timeout`, every reply its `timeout`; replies are read line by line, each capped.
//!
//! ```text
//! S: 220 relay ESMTP            C: EHLO lb1          S: 250-relay / 250 8BITMIME
//! C: MAIL FROM:<lb1@example.org>                     S: 250 ok
//! C: RCPT TO:<ops@example.org>  (per recipient)      S: 250 ok   (one refused: logged)
//! C: DATA                       S: 354               C: message, then .
//! S: 250 queued                 C: QUIT              S: 221
//! ```

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::model::alerts::Mail;

/// The longest reply line read (RFC 5321 allows 512 bytes; servers write longer ones).
const MAX_REPLY_LINE: u64 = 4096;
/// The most lines of one multi-line reply.
const MAX_REPLY_LINES: usize = 100;

/// Why a message was not handed over.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    /// The relay's name did not resolve.
    #[error("resolve {server}: {source}")]
    Resolve {
        /// `host:port`.
        server: String,
        /// Why.
        source: std::io::Error,
    },
    /// No connection within the connect timeout, or refused.
    #[error("connect to {server}: {why}")]
    Connect {
        /// `host:port`.
        server: String,
        /// Why.
        why: String,
    },
    /// The server did not answer a step in time.
    #[error("{step}: no reply within {timeout:?}")]
    Timeout {
        /// The step: `greeting`, `EHLO`, `MAIL FROM`, ...
        step: &'static str,
        /// The reply timeout.
        timeout: Duration,
    },
    /// Reading or writing failed.
    #[error("{step}: {source}")]
    Io {
        /// The step.
        step: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The server refused a step.
    #[error("{step}: refused: {reply}")]
    Refused {
        /// The step.
        step: &'static str,
        /// Its reply, code and text.
        reply: String,
    },
    /// The reply is not SMTP.
    #[error("{step}: not an SMTP reply: {line}")]
    Garbled {
        /// The step.
        step: &'static str,
        /// The line, escaped.
        line: String,
    },
}

/// A reply: its code and its text lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// The text, lines joined with `; `.
    pub text: String,
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, crate::text::escaped(&self.text))
    }
}

/// One reply line: its code, whether more lines follow (`250-`), its text.
pub fn parse_line(line: &str) -> Option<(u16, bool, &str)> {
    let line = line.trim_end_matches(['\r', '\n']);
    let code = line.get(..3)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) || !(b'2'..=b'5').contains(&code.as_bytes()[0]) {
        return None;
    }
    let more = match line.as_bytes().get(3) {
        None | Some(b' ') => false,
        Some(b'-') => true,
        Some(_) => return None,
    };
    Some((code.parse().ok()?, more, line.get(4..).unwrap_or("")))
}

/// What a delivery did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivered {
    /// Recipients the server refused, with its reply (the others got the message).
    pub refused: Vec<(String, String)>,
}

/// Hands `data` (a whole message from [`super::format::smtp_data`], its final `.` line
/// included) to `mail`'s relay for every recipient, introducing itself as `helo`.
pub async fn send(mail: &Mail, helo: &str, data: &str) -> Result<Delivered, SmtpError> {
    let stream = connect(mail).await?;
    let mut s = Session { conn: BufReader::new(stream), timeout: mail.timeout };
    s.expect("greeting", None, &[220]).await?;
    if let Err(e) = s.expect("EHLO", Some(&format!("EHLO {helo}")), &[250]).await {
        match e {
            SmtpError::Refused { .. } => s.expect("HELO", Some(&format!("HELO {helo}")), &[250]).await?,
            e => return Err(e),
        };
    }
    s.expect("MAIL FROM", Some(&format!("MAIL FROM:<{}>", mail.from)), &[250]).await?;
    let mut done = Delivered::default();
    for to in &mail.to {
        match s.expect("RCPT TO", Some(&format!("RCPT TO:<{to}>")), &[250, 251]).await {
            Ok(_) => {}
            Err(SmtpError::Refused { reply, .. }) => done.refused.push((to.clone(), reply)),
            Err(e) => return Err(e),
        }
    }
    if done.refused.len() == mail.to.len() {
        let reply = done.refused.iter().map(|(t, r)| format!("{t}: {r}")).collect::<Vec<_>>().join(", ");
        return Err(SmtpError::Refused { step: "RCPT TO", reply });
    }
    s.expect("DATA", Some("DATA"), &[354]).await?;
    s.write("message", data).await?;
    s.expect("message", None, &[250]).await?;
    // The message is accepted; a QUIT that fails changes nothing.
    let _ = s.expect("QUIT", Some("QUIT"), &[221]).await;
    Ok(done)
}

/// Connects to the first of the relay's addresses that answers, within the connect timeout.
async fn connect(mail: &Mail) -> Result<TcpStream, SmtpError> {
    let server = mail.server();
    let attempt = async {
        let addrs = tokio::net::lookup_host((mail.host.as_str(), mail.port))
            .await
            .map_err(|source| SmtpError::Resolve { server: server.clone(), source })?;
        let mut why = "no address".to_string();
        for a in addrs {
            match TcpStream::connect(a).await {
                Ok(s) => return Ok(s),
                Err(e) => why = format!("{a}: {e}"),
            }
        }
        Err(SmtpError::Connect { server: server.clone(), why })
    };
    match tokio::time::timeout(mail.connect_timeout, attempt).await {
        Ok(r) => r,
        Err(_) => Err(SmtpError::Connect { server, why: format!("no connection within {:?}", mail.connect_timeout) }),
    }
}

struct Session {
    conn: BufReader<TcpStream>,
    timeout: Duration,
}

impl Session {
    /// Sends `command` (when given) and reads the reply; one of `codes` or an error.
    async fn expect(&mut self, step: &'static str, command: Option<&str>, codes: &[u16]) -> Result<Reply, SmtpError> {
        if let Some(c) = command {
            self.write(step, &format!("{c}\r\n")).await?;
        }
        let reply = match tokio::time::timeout(self.timeout, self.reply(step)).await {
            Ok(r) => r?,
            Err(_) => return Err(SmtpError::Timeout { step, timeout: self.timeout }),
        };
        match codes.contains(&reply.code) {
            true => Ok(reply),
            false => Err(SmtpError::Refused { step, reply: reply.to_string() }),
        }
    }

    async fn write(&mut self, step: &'static str, text: &str) -> Result<(), SmtpError> {
        let io = |source| SmtpError::Io { step, source };
        match tokio::time::timeout(self.timeout, self.conn.get_mut().write_all(text.as_bytes())).await {
            Ok(r) => r.map_err(io),
            Err(_) => Err(SmtpError::Timeout { step, timeout: self.timeout }),
        }
    }

    /// Reads one reply, all its lines.
    async fn reply(&mut self, step: &'static str) -> Result<Reply, SmtpError> {
        let mut text = Vec::new();
        for _ in 0..MAX_REPLY_LINES {
            let mut buf = Vec::new();
            let n = (&mut self.conn).take(MAX_REPLY_LINE).read_until(b'\n', &mut buf).await;
            let n = n.map_err(|source| SmtpError::Io { step, source })?;
            if n == 0 {
                let source = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the server closed the connection");
                return Err(SmtpError::Io { step, source });
            }
            let line = String::from_utf8_lossy(&buf);
            let garbled = || SmtpError::Garbled { step, line: crate::text::escaped(line.trim_end()).into_owned() };
            let (code, more, t) = parse_line(&line).ok_or_else(garbled)?;
            text.push(t.to_string());
            if !more {
                return Ok(Reply { code, text: text.join("; ") });
            }
        }
        Err(SmtpError::Garbled { step, line: format!("more than {MAX_REPLY_LINES} reply lines") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_lines() {
        assert_eq!(parse_line("250-relay.example.org\r\n"), Some((250, true, "relay.example.org")));
        assert_eq!(parse_line("250 8BITMIME\r\n"), Some((250, false, "8BITMIME")));
        assert_eq!(parse_line("354\r\n"), Some((354, false, "")));
        assert_eq!(parse_line("HTTP/1.1 400 Bad Request"), None);
        assert_eq!(parse_line("25"), None);
        assert_eq!(parse_line("250x"), None);
        assert_eq!(parse_line("650 what"), None);
    }

    /// A scripted server on loopback: it answers each line it reads with the next reply
    /// and records what it was sent.
    fn server(replies: Vec<&'static str>) -> (u16, std::thread::JoinHandle<String>) {
        use std::io::{BufRead, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let (c, _) = l.accept().unwrap();
            let mut r = std::io::BufReader::new(c.try_clone().unwrap());
            let mut w = c;
            let mut seen = String::new();
            let mut replies = replies.into_iter();
            w.write_all(replies.next().unwrap().as_bytes()).unwrap();
            let mut in_data = false;
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                seen.push_str(&line);
                let answer = match (in_data, line.as_str()) {
                    (true, ".\r\n") => {
                        in_data = false;
                        true
                    }
                    (true, _) => false,
                    (false, "DATA\r\n") => {
                        in_data = true;
                        true
                    }
                    _ => true,
                };
                line.clear();
                if answer {
                    match replies.next() {
                        Some(a) => w.write_all(a.as_bytes()).unwrap(),
                        None => break,
                    }
                }
            }
            seen
        });
        (port, t)
    }

    fn mail(port: u16, to: &[&str]) -> Mail {
        Mail {
            from: "lb1@example.org".into(),
            to: to.iter().map(|s| s.to_string()).collect(),
            host: "127.0.0.1".into(),
            port,
            helo_name: None,
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(2),
        }
    }

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    #[test]
    fn a_refused_ehlo_falls_back_to_helo_and_a_refused_recipient_is_reported() {
        let replies = vec![
            "220 relay\r\n",
            "502 no EHLO here\r\n",
            "250 hello\r\n",
            "250 ok\r\n",
            "250 ok\r\n",
            "550 no such user\r\n",
            "354 go\r\n",
            "250-queued\r\n250 as 1\r\n",
            "221 bye\r\n",
        ];
        let (port, t) = server(replies);
        let data = "Subject: x\r\n\r\n..dot\r\n.\r\n";
        let got = run(send(&mail(port, &["ops@example.org", "nobody@example.org"]), "lb1", data)).unwrap();
        assert_eq!(got.refused, [("nobody@example.org".to_string(), "550 no such user".to_string())]);
        let seen = t.join().unwrap();
        assert_eq!(
            seen,
            "EHLO lb1\r\nHELO lb1\r\nMAIL FROM:<lb1@example.org>\r\nRCPT TO:<ops@example.org>\r\n\
             RCPT TO:<nobody@example.org>\r\nDATA\r\nSubject: x\r\n\r\n..dot\r\n.\r\nQUIT\r\n"
        );
    }

    #[test]
    fn a_refused_sender_and_a_silent_server_fail_with_their_step() {
        let (port, t) = server(vec!["220 relay\r\n", "250 hi\r\n", "553 sender refused\r\n"]);
        let e = run(send(&mail(port, &["ops@example.org"]), "lb1", ".\r\n")).unwrap_err();
        assert_eq!(e.to_string(), "MAIL FROM: refused: 553 sender refused");
        drop(t);
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut m = mail(l.local_addr().unwrap().port(), &["ops@example.org"]);
        m.timeout = Duration::from_millis(200);
        let e = run(send(&m, "lb1", ".\r\n")).unwrap_err();
        assert_eq!(e.to_string(), "greeting: no reply within 200ms");
    }
}
