//! Server configuration: defaults, then a TOML file (`--config FILE`), then environment variables
//! and command-line flags, the later winning. Every key of the file is checked: an unknown key, a
//! wrong type or a bad value is an error that names the file, line and column.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Where the embedded default keeps its database.
pub const DEFAULT_DATABASE_URL: &str = crate::store::DEFAULT_DATABASE_URL;
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_MAIL_DIR: &str = "data/mail";
pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";

/// The settings a running server uses, every one resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub bind: String,
    pub database_url: String,
    pub workflows: PathBuf,
    /// Address users reach the server at, for links in mail (e.g. https://sp.example.org).
    pub public_url: String,
    pub time_zone: chrono_tz::Tz,
    pub mail: MailConfig,
    /// Folder of attachments; None: beside the SQLite file, or ./data/attachments.
    pub attachments_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MailConfig {
    /// `smtp://user:pass@host:port` (STARTTLS), `smtps://…` (TLS) or `smtp+plain://…`
    /// (no encryption, for a relay on the same host). None: mail is written as files.
    pub smtp_url: Option<String>,
    pub from: String,
    /// Folder for `.eml` files when no SMTP server is configured.
    pub dir: PathBuf,
    /// Tries before a mail is marked as a dead letter.
    pub max_attempts: u32,
    /// SMTP connections open at once, and so mails in flight at once.
    pub connections: usize,
    /// How long a sender's claim on a mail lasts: a sender that dies leaves its unsent mail
    /// to the others (or to itself, restarted) after this long.
    pub lease_seconds: u32,
}

/// What the file may say. Every field optional; unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<String>,
    database_url: Option<String>,
    workflows: Option<PathBuf>,
    public_url: Option<String>,
    time_zone: Option<String>,
    attachments_dir: Option<PathBuf>,
    mail: Option<FileMail>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMail {
    smtp_url: Option<String>,
    from: Option<String>,
    dir: Option<PathBuf>,
    max_attempts: Option<u32>,
    connections: Option<u32>,
    lease_seconds: Option<u32>,
}

/// Values given on the command line or in the environment (clap reads both).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub bind: Option<String>,
    pub database_url: Option<String>,
    pub workflows: Option<PathBuf>,
    pub smtp_url: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Resolve the configuration: defaults < file < overrides.
    pub fn resolve(file: Option<&Path>, over: Overrides) -> Result<Config, ConfigError> {
        let parsed = match file {
            None => FileConfig::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError(format!(
                        "{}: cannot read the config file: {e}",
                        path.display()
                    ))
                })?;
                parse(path, &text)?
            }
        };
        let origin = |key: &str| match file {
            Some(p) => format!("{}: {key}", p.display()),
            None => key.to_string(),
        };
        let mail = parsed.mail.unwrap_or_default();
        let time_zone = match parsed.time_zone.as_deref() {
            None => chrono_tz::Asia::Shanghai,
            Some(name) => name.parse::<chrono_tz::Tz>().map_err(|_| {
                ConfigError(format!(
                    "{}: unknown time zone `{name}` (use an IANA name such as Asia/Shanghai)",
                    origin("time_zone")
                ))
            })?,
        };
        let bind = over
            .bind
            .or(parsed.bind)
            .unwrap_or_else(|| DEFAULT_BIND.into());
        if bind.parse::<std::net::SocketAddr>().is_err()
            && !bind
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
        {
            return Err(ConfigError(format!(
                "{}: `{bind}` is not an address to listen on (HOST:PORT, e.g. 127.0.0.1:8080)",
                origin("bind")
            )));
        }
        let database_url = over
            .database_url
            .or(parsed.database_url)
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError(format!(
                "{}: `{database_url}` is not a database URL (sqlite://PATH?mode=rwc or postgres://USER@HOST/DB)",
                origin("database_url")
            )));
        }
        let smtp_url = over.smtp_url.or(mail.smtp_url).filter(|s| !s.is_empty());
        if let Some(url) = &smtp_url {
            check_smtp_url(url)
                .map_err(|m| ConfigError(format!("{}: {m}", origin("mail.smtp_url"))))?;
        }
        let public_url = parsed
            .public_url
            .unwrap_or_else(|| format!("http://{bind}"))
            .trim_end_matches('/')
            .to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError(format!(
                "{}: `{public_url}` must start with http:// or https://",
                origin("public_url")
            )));
        }
        let max_attempts = mail.max_attempts.unwrap_or(8);
        if max_attempts == 0 || max_attempts > 100 {
            return Err(ConfigError(format!(
                "{}: must be between 1 and 100, not {max_attempts}",
                origin("mail.max_attempts")
            )));
        }
        let connections = mail.connections.unwrap_or(4);
        if !(1..=64).contains(&connections) {
            return Err(ConfigError(format!(
                "{}: must be between 1 and 64, not {connections}",
                origin("mail.connections")
            )));
        }
        // A lease shorter than a slow batch would let a second sender take mail the first is
        // still delivering.
        let lease_seconds = mail.lease_seconds.unwrap_or(300);
        if !(5..=86_400).contains(&lease_seconds) {
            return Err(ConfigError(format!(
                "{}: must be between 5 and 86400 seconds, not {lease_seconds}",
                origin("mail.lease_seconds")
            )));
        }
        Ok(Config {
            bind,
            database_url,
            workflows: over
                .workflows
                .or(parsed.workflows)
                .unwrap_or_else(|| PathBuf::from("workflows")),
            public_url,
            time_zone,
            attachments_dir: parsed.attachments_dir,
            mail: MailConfig {
                smtp_url,
                from: mail
                    .from
                    .unwrap_or_else(|| "书记项目 <noreply@secretary-projects.invalid>".into()),
                dir: mail.dir.unwrap_or_else(|| PathBuf::from(DEFAULT_MAIL_DIR)),
                max_attempts,
                connections: connections as usize,
                lease_seconds,
            },
        })
    }
}

fn parse(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    toml::from_str::<FileConfig>(text).map_err(|e| {
        let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
        ConfigError(format!(
            "{}:{line}:{col}: {}",
            path.display(),
            e.message().trim()
        ))
    })
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// The SMTP URL forms the mail sender understands.
pub fn check_smtp_url(url: &str) -> Result<(), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!("`{url}` is not a URL (smtp://HOST:PORT)"));
    };
    if !matches!(scheme, "smtp" | "smtps" | "smtp+plain") {
        return Err(format!(
            "unknown scheme `{scheme}` (smtp for STARTTLS, smtps for TLS, smtp+plain for none)"
        ));
    }
    let host_port = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
    let host_port = host_port.split(['/', '?']).next().unwrap_or("");
    if host_port.is_empty() {
        return Err(format!("`{url}` names no host"));
    }
    if let Some((_, port)) = host_port.rsplit_once(':') {
        if port.parse::<u16>().is_err() {
            return Err(format!("`{port}` is not a port number"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::NamedTempFile, PathBuf) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
        let p = f.path().to_path_buf();
        (f, p)
    }

    #[test]
    fn defaults_without_a_file() {
        let c = Config::resolve(None, Overrides::default()).unwrap();
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.mail.smtp_url, None);
        assert_eq!(c.mail.dir, PathBuf::from("data/mail"));
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.time_zone, chrono_tz::Asia::Shanghai);
    }

    #[test]
    fn file_then_overrides() {
        let (_f, p) = file(
            "bind = \"0.0.0.0:9000\"\npublic_url = \"https://sp.example.org/\"\ntime_zone = \"Asia/Urumqi\"\n[mail]\nsmtp_url = \"smtp://a:b@mail.example.org:587\"\nfrom = \"x <x@example.org>\"\n",
        );
        let c = Config::resolve(Some(&p), Overrides::default()).unwrap();
        assert_eq!(c.bind, "0.0.0.0:9000");
        assert_eq!(c.public_url, "https://sp.example.org");
        assert_eq!(c.time_zone, chrono_tz::Asia::Urumqi);
        assert_eq!(
            c.mail.smtp_url.as_deref(),
            Some("smtp://a:b@mail.example.org:587")
        );
        let c = Config::resolve(
            Some(&p),
            Overrides {
                bind: Some("127.0.0.1:1".into()),
                smtp_url: Some("smtps://relay:465".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(c.bind, "127.0.0.1:1");
        assert_eq!(c.mail.smtp_url.as_deref(), Some("smtps://relay:465"));
    }

    #[test]
    fn bad_files_name_the_place() {
        let (_f, p) = file("bind = \"127.0.0.1:8080\"\n[mail]\nsmpt_url = \"smtp://x\"\n");
        let e = Config::resolve(Some(&p), Overrides::default())
            .unwrap_err()
            .0;
        assert!(e.contains(":3:1:"), "{e}");
        assert!(e.contains("smpt_url"), "{e}");
        let (_f, p) = file("bind = 8080\n");
        let e = Config::resolve(Some(&p), Overrides::default())
            .unwrap_err()
            .0;
        assert!(e.contains(":1:8:"), "{e}");
        let (_f, p) = file("time_zone = \"Mars/Olympus\"\n");
        let e = Config::resolve(Some(&p), Overrides::default())
            .unwrap_err()
            .0;
        assert!(e.contains("time_zone") && e.contains("Mars/Olympus"), "{e}");
        let (_f, p) = file("[mail]\nsmtp_url = \"imap://x\"\n");
        let e = Config::resolve(Some(&p), Overrides::default())
            .unwrap_err()
            .0;
        assert!(e.contains("mail.smtp_url") && e.contains("imap"), "{e}");
        let (_f, p) = file("database_url = \"mysql://x\"\n");
        assert!(Config::resolve(Some(&p), Overrides::default()).is_err());
        let e = Config::resolve(
            Some(Path::new("/nonexistent/sp.toml")),
            Overrides::default(),
        )
        .unwrap_err()
        .0;
        assert!(e.contains("/nonexistent/sp.toml"), "{e}");
    }
}
