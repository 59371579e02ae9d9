//! Webhook delivery: one `POST` of a JSON body over HTTP/1.1 (`Connection: close`), over
//! TLS for `https` (the certificate verified against the system's CAs or the webhook's
//! `ca_file`, as `https` checks do: [`crate::health::tls`]). The whole exchange has the
//! webhook's timeout; any 2xx status is a delivery, anything else an error naming it. The
//! response is read with the checks' bounded reader ([`crate::health::http::Reader`]).

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::health::http::Reader;
use crate::model::alerts::Webhook;
use crate::model::cluster::TlsCheck;

/// The request: line, headers (the webhook's own after lbconverge's) and body.
pub fn request(w: &Webhook, body: &str) -> String {
    let host = match w.host.contains(':') {
        true => format!("[{}]", w.host),
        false => w.host.clone(),
    };
    let default_port = if w.tls { 443 } else { 80 };
    let host = if w.port == default_port { host } else { format!("{host}:{}", w.port) };
    let mut r = format!(
        "POST {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: lbconverge/{}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        w.path,
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    for (k, v) in &w.headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r
}

/// POSTs `body` to `w`: `Ok(status)` for a 2xx answer, else why not.
pub async fn post(w: &Webhook, body: &str) -> Result<u16, String> {
    match tokio::time::timeout(w.timeout, exchange(w, &request(w, body))).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {:?}", w.timeout)),
    }
}

async fn exchange(w: &Webhook, request: &str) -> Result<u16, String> {
    let addrs =
        tokio::net::lookup_host((w.host.as_str(), w.port)).await.map_err(|e| format!("resolve {}: {e}", w.host))?;
    let mut why = format!("{}: no address", w.host);
    let mut conn = None;
    for a in addrs {
        match TcpStream::connect(a).await {
            Ok(s) => {
                conn = Some(s);
                break;
            }
            Err(e) => why = format!("connect to {a}: {e}"),
        }
    }
    let conn = conn.ok_or(why)?;
    if !w.tls {
        return talk(conn, request).await;
    }
    let t = TlsCheck { verify: true, ca_file: w.ca_file.clone() };
    let config = Arc::new(crate::health::tls::client_config(&t)?);
    let name = match w.host.parse::<std::net::IpAddr>() {
        Ok(ip) => rustls::pki_types::ServerName::IpAddress(ip.into()),
        Err(_) => {
            rustls::pki_types::ServerName::try_from(w.host.clone()).map_err(|e| format!("TLS name {}: {e}", w.host))?
        }
    };
    match tokio_rustls::TlsConnector::from(config).connect(name, conn).await {
        Ok(s) => talk(s, request).await,
        Err(e) => Err(format!("TLS: {}", crate::health::tls::explain(&e))),
    }
}

/// Writes the request and reads the response's status.
async fn talk<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, request: &str) -> Result<u16, String> {
    s.write_all(request.as_bytes()).await.map_err(|e| format!("send: {e}"))?;
    let mut reader = Reader::new(false);
    let mut buf = vec![0u8; 4096];
    loop {
        let n = s.read(&mut buf).await.map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            reader.eof().map_err(|e| e.to_string())?;
            break;
        }
        if reader.feed(&buf[..n]).map_err(|e| e.to_string())? {
            break;
        }
    }
    match reader.status() {
        s @ 200..=299 => Ok(s),
        s => Err(format!("status {s}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn hook(port: u16) -> Webhook {
        Webhook {
            url: format!("http://127.0.0.1:{port}/hook"),
            tls: false,
            host: "127.0.0.1".into(),
            port,
            path: "/hook?x=1".into(),
            format: crate::model::alerts::WebhookFormat::Json,
            headers: vec![("Authorization".into(), "Bearer t".into())],
            timeout: Duration::from_secs(2),
            ca_file: None,
        }
    }

    #[test]
    fn the_request_carries_its_headers_and_body() {
        let r = request(&hook(8080), "{\"a\":1}");
        let v = env!("CARGO_PKG_VERSION");
        assert_eq!(
            r,
            format!(
                "POST /hook?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: lbconverge/{v}\r\n\
                 Content-Type: application/json\r\nContent-Length: 7\r\nConnection: close\r\n\
                 Authorization: Bearer t\r\n\r\n{{\"a\":1}}"
            )
        );
    }

    fn answer(status: &'static str) -> u16 {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = c.read(&mut buf);
            let _ = c.write_all(status.as_bytes());
        });
        port
    }

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    #[test]
    fn a_2xx_is_delivered_and_anything_else_is_an_error() {
        let ok = answer("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(run(post(&hook(ok), "{}")), Ok(202));
        let bad = answer("HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\nno");
        assert_eq!(run(post(&hook(bad), "{}")), Err("status 500".into()));
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut h = hook(silent.local_addr().unwrap().port());
        h.timeout = Duration::from_millis(200);
        assert_eq!(run(post(&h, "{}")), Err("no answer within 200ms".into()));
    }
}
