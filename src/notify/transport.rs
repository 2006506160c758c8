//! Where mail goes: an SMTP server through lettre (pooled connections, STARTTLS or TLS,
//! authentication from the URL), or, by default, `.eml` files in a folder that a newcomer can
//! open to read what would have been sent.
//!
//! Why `smtp://` and `smtp+plain://` open their own sockets: lettre 0.11.23 (the newest
//! release) leaves Nagle's algorithm on and writes a message's closing `\r\n.\r\n` as a second
//! small write after the body. The kernel holds those five bytes until the server acknowledges
//! the body, and the server, still waiting for the end of the data, acknowledges only when its
//! delayed-ACK timer fires: about 40 ms per mail, whatever the machine (23 mails/s measured).
//! lettre fixed this upstream (set `TCP_NODELAY`, lettre pull request 1159) but has not
//! released it, and its transport does not let a caller set socket options. So here we connect
//! the TCP socket ourselves with `TCP_NODELAY`, hand it to lettre's `AsyncSmtpConnection`
//! (which still speaks SMTP, STARTTLS and AUTH), and keep a small pool of open connections.
//! `smtps://` (TLS from the first byte) still uses lettre's own pooled transport, which pays
//! the stall until a lettre release carries the fix.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Semaphore;

/// Connections kept to the SMTP server (and mails in flight) unless configured otherwise.
pub const DEFAULT_CONNECTIONS: usize = 4;

/// How long one connection, SMTP exchange or mail may take before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(20);

/// An idle connection older than this is closed rather than reused: servers drop idle clients
/// (RFC 5321 asks them to wait at least 5 minutes; many wait less).
const MAX_IDLE: Duration = Duration::from_secs(60);

/// A connection idle longer than this is checked with `NOOP` before it carries a mail.
const CHECK_AFTER: Duration = Duration::from_secs(5);

pub enum Transport {
    Files {
        dir: PathBuf,
    },
    Smtp(Box<SmtpPool>),
    /// `smtps://`: lettre's own pooled transport.
    SmtpTls(AsyncSmtpTransport<Tokio1Executor>),
}

/// A failed delivery: permanent ones are not retried.
#[derive(Debug, Clone)]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

impl SendError {
    fn transient(message: impl Into<String>) -> SendError {
        SendError {
            permanent: false,
            message: message.into(),
        }
    }
}

impl From<lettre::transport::smtp::Error> for SendError {
    fn from(e: lettre::transport::smtp::Error) -> SendError {
        SendError {
            permanent: e.is_permanent(),
            message: e.to_string(),
        }
    }
}

/// Our own small pool of SMTP connections on sockets with `TCP_NODELAY`.
pub struct SmtpPool {
    host: String,
    port: u16,
    hello: ClientId,
    /// `smtp://`: STARTTLS is required before anything else is said.
    starttls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    /// Bounds the connections open at once (each carries one mail at a time).
    slots: Semaphore,
}

impl Transport {
    /// From the configuration: `smtp://` (STARTTLS required), `smtps://` (TLS), `smtp+plain://`
    /// (no encryption: a relay on the same host or a test server), or files. At most
    /// [`DEFAULT_CONNECTIONS`] connections at once.
    pub fn new(smtp_url: Option<&str>, dir: PathBuf) -> Result<Transport, String> {
        Transport::with_connections(smtp_url, dir, DEFAULT_CONNECTIONS)
    }

    /// As [`Transport::new`], with at most `connections` SMTP connections open at once.
    pub fn with_connections(
        smtp_url: Option<&str>,
        dir: PathBuf,
        connections: usize,
    ) -> Result<Transport, String> {
        let Some(text) = smtp_url else {
            return Ok(Transport::Files { dir });
        };
        let connections = connections.clamp(1, 64);
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("`{text}` is not an SMTP URL"))?;
        if scheme == "smtps" {
            let builder =
                AsyncSmtpTransport::<Tokio1Executor>::from_url(&format!("smtps://{rest}"))
                    .map_err(|e| format!("SMTP URL: {e}"))?;
            let pool = lettre::transport::smtp::PoolConfig::new().max_size(connections as u32);
            return Ok(Transport::SmtpTls(
                builder.timeout(Some(TIMEOUT)).pool_config(pool).build(),
            ));
        }
        let (default_port, tls) = match scheme {
            "smtp" => (587, true),
            "smtp+plain" => (25, false),
            other => return Err(format!("unknown SMTP scheme `{other}`")),
        };
        // Parsed as `smtp://` so that the URL crate knows the authority syntax.
        let url =
            url::Url::parse(&format!("smtp://{rest}")).map_err(|e| format!("SMTP URL: {e}"))?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("SMTP URL `{text}` names no host"))?
            .trim_matches(|c| c == '[' || c == ']')
            .to_string();
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| format!("SMTP URL `{text}`: the user or password is not UTF-8"))
        };
        let credentials = match url.password() {
            Some(password) => Some(Credentials::new(decode(url.username())?, decode(password)?)),
            None => None,
        };
        let hello = if url.path().len() > 1 {
            ClientId::Domain(url.path().trim_matches('/').to_string())
        } else {
            ClientId::default()
        };
        let starttls = if tls {
            Some(TlsParameters::new(host.clone()).map_err(|e| format!("TLS: {e}"))?)
        } else {
            None
        };
        Ok(Transport::Smtp(Box::new(SmtpPool {
            port: url.port().unwrap_or(default_port),
            host,
            hello,
            starttls,
            credentials,
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(connections),
        })))
    }

    pub fn describe(&self) -> String {
        match self {
            Transport::Files { dir } => {
                format!("mail is written as .eml files to {}", dir.display())
            }
            Transport::Smtp(p) => format!(
                "mail is sent over SMTP to {}:{}{} (at most {} connections)",
                p.host,
                p.port,
                if p.starttls.is_some() {
                    ", STARTTLS"
                } else {
                    ", unencrypted"
                },
                p.slots.available_permits()
            ),
            Transport::SmtpTls(_) => "mail is sent over SMTP with TLS".into(),
        }
    }

    /// Say goodbye on pooled connections idle longer than `idle`: servers drop idle clients
    /// after a few minutes, and a connection they dropped is only a socket left to close.
    pub async fn close_idle(&self, idle: Duration) {
        if let Transport::Smtp(pool) = self {
            let stale: Vec<AsyncSmtpConnection> = {
                let mut conns = pool.lock_idle();
                let (stale, fresh): (Vec<_>, Vec<_>) = conns
                    .drain(..)
                    .partition(|(_, since)| since.elapsed() > idle);
                *conns = fresh;
                stale.into_iter().map(|(c, _)| c).collect()
            };
            for mut conn in stale {
                let _ = tokio::time::timeout(Duration::from_secs(5), conn.quit()).await;
            }
        }
    }

    /// Deliver one message; `name` names its file when writing files.
    pub async fn send(&self, message: Message, name: &str) -> Result<(), SendError> {
        match self {
            Transport::Smtp(pool) => pool.send(&message).await,
            Transport::SmtpTls(t) => t.send(message).await.map(|_| ()).map_err(Into::into),
            Transport::Files { dir } => {
                let dir = dir.clone();
                let name = name.to_string();
                let bytes = message.formatted();
                tokio::task::spawn_blocking(move || write_eml(&dir, &name, &bytes))
                    .await
                    .map_err(|e| SendError::transient(e.to_string()))?
                    .map_err(|e| SendError::transient(format!("cannot write the mail file: {e}")))
            }
        }
    }
}

impl SmtpPool {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| SendError::transient("the mail transport is shutting down"))?;
        let mut conn = match self.reuse().await {
            Some(c) => c,
            None => tokio::time::timeout(TIMEOUT, self.connect())
                .await
                .map_err(|_| {
                    SendError::transient(format!(
                        "no answer from the SMTP server {}:{} within {}s",
                        self.host,
                        self.port,
                        TIMEOUT.as_secs()
                    ))
                })??,
        };
        let bytes = message.formatted();
        match tokio::time::timeout(TIMEOUT, conn.send(message.envelope(), &bytes)).await {
            Ok(Ok(_)) if !conn.has_broken() => {
                self.lock_idle().push((conn, Instant::now()));
                Ok(())
            }
            Ok(Ok(_)) => Ok(()),
            // lettre has already closed a connection whose exchange failed.
            Ok(Err(e)) => Err(e.into()),
            // Dropping the connection closes the socket: its state is unknown.
            Err(_) => Err(SendError::transient(format!(
                "the SMTP server did not finish the mail within {}s",
                TIMEOUT.as_secs()
            ))),
        }
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<(AsyncSmtpConnection, Instant)>> {
        // A panic while holding the lock leaves only a list of connections behind: usable.
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most recently used idle connection that is still good, if any.
    async fn reuse(&self) -> Option<AsyncSmtpConnection> {
        loop {
            let (mut conn, since) = self.lock_idle().pop()?;
            let idle = since.elapsed();
            if idle > MAX_IDLE {
                continue;
            }
            if idle > CHECK_AFTER
                && !matches!(
                    tokio::time::timeout(Duration::from_secs(5), conn.test_connected()).await,
                    Ok(true)
                )
            {
                continue;
            }
            return Some(conn);
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let addrs = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|e| SendError::transient(format!("SMTP server {}: {e}", self.host)))?;
        let mut last = None;
        let mut stream = None;
        for addr in addrs {
            match tokio::net::TcpStream::connect(addr).await {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let stream = stream.ok_or_else(|| {
            SendError::transient(format!(
                "cannot connect to the SMTP server {}:{}: {}",
                self.host,
                self.port,
                last.map(|e| e.to_string())
                    .unwrap_or_else(|| "the name resolves to no address".into())
            ))
        })?;
        // The point of owning the socket: every SMTP step is one write then a wait for the
        // reply, so Nagle's algorithm has nothing to coalesce and only adds the peer's
        // delayed-ACK time to each mail.
        stream
            .set_nodelay(true)
            .map_err(|e| SendError::transient(format!("TCP_NODELAY: {e}")))?;
        let mut conn =
            AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello).await?;
        if let Some(tls) = &self.starttls {
            if !conn.can_starttls() {
                conn.abort().await;
                return Err(SendError::transient(format!(
                    "the SMTP server {}:{} does not offer STARTTLS, which smtp:// requires (smtp+plain:// sends unencrypted)",
                    self.host, self.port
                )));
            }
            conn.starttls(tls.clone(), &self.hello).await?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(conn)
    }
}

/// Whole or absent: written to a temporary file, then renamed.
fn write_eml(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(dir.join(format!("{name}.eml")))
        .map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // lettre's pooled `smtps://` transport starts its pool task on the Tokio runtime.
    #[tokio::test]
    async fn urls() {
        let t = Transport::new(Some("smtp+plain://127.0.0.1:2525"), "x".into()).unwrap();
        let Transport::Smtp(p) = &t else {
            panic!("own pool")
        };
        assert_eq!((p.host.as_str(), p.port), ("127.0.0.1", 2525));
        assert!(p.starttls.is_none() && p.credentials.is_none());
        let t = Transport::new(Some("smtp://us%40er:p%3Ass@mail.example.org"), "x".into()).unwrap();
        let Transport::Smtp(p) = &t else {
            panic!("own pool")
        };
        assert_eq!((p.host.as_str(), p.port), ("mail.example.org", 587));
        assert!(p.starttls.is_some() && p.credentials.is_some());
        assert!(matches!(
            Transport::new(Some("smtps://mail.example.org"), "x".into()).unwrap(),
            Transport::SmtpTls(_)
        ));
        assert!(Transport::new(Some("imap://x"), "x".into()).is_err());
        assert!(Transport::new(Some("smtp+plain://"), "x".into()).is_err());
        assert!(Transport::new(Some("nonsense"), "x".into()).is_err());
    }
}
