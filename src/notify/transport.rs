//! Where mail goes: an SMTP server through lettre (pooled connections, STARTTLS or TLS,
//! authentication from the URL), or, by default, `.eml` files in a folder that a newcomer can
//! open to read what would have been sent.

use std::io::Write;
use std::path::PathBuf;

use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub enum Transport {
    Files { dir: PathBuf },
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// A failed delivery: permanent ones are not retried.
#[derive(Debug, Clone)]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

impl Transport {
    /// From the configuration: `smtp://` (STARTTLS required), `smtps://` (TLS), `smtp+plain://`
    /// (no encryption: a relay on the same host or a test server), or files.
    pub fn new(smtp_url: Option<&str>, dir: PathBuf) -> Result<Transport, String> {
        let Some(url) = smtp_url else {
            return Ok(Transport::Files { dir });
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("`{url}` is not an SMTP URL"))?;
        let lettre_url = match scheme {
            "smtp" => format!(
                "smtp://{rest}{}tls=required",
                if rest.contains('?') { "&" } else { "?" }
            ),
            "smtps" => format!("smtps://{rest}"),
            "smtp+plain" => format!("smtp://{rest}"),
            other => return Err(format!("unknown SMTP scheme `{other}`")),
        };
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&lettre_url)
            .map_err(|e| format!("SMTP URL: {e}"))?;
        Ok(Transport::Smtp(
            builder
                .timeout(Some(std::time::Duration::from_secs(20)))
                .build(),
        ))
    }

    pub fn describe(&self) -> String {
        match self {
            Transport::Files { dir } => {
                format!("mail is written as .eml files to {}", dir.display())
            }
            Transport::Smtp(_) => "mail is sent over SMTP".into(),
        }
    }

    /// Deliver one message; `name` names its file when writing files.
    pub async fn send(&self, message: Message, name: &str) -> Result<(), SendError> {
        match self {
            Transport::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| SendError {
                permanent: e.is_permanent(),
                message: e.to_string(),
            }),
            Transport::Files { dir } => {
                let dir = dir.clone();
                let name = name.to_string();
                let bytes = message.formatted();
                tokio::task::spawn_blocking(move || write_eml(&dir, &name, &bytes))
                    .await
                    .map_err(|e| SendError {
                        permanent: false,
                        message: e.to_string(),
                    })?
                    .map_err(|e| SendError {
                        permanent: false,
                        message: format!("cannot write the mail file: {e}"),
                    })
            }
        }
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
