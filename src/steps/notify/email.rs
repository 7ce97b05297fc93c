//! An e-mail over SMTP with `lettre` (rustls): `smtps://` is TLS from the first byte,
//! `smtp://...?tls=required` upgrades with STARTTLS and fails if the server cannot, plain
//! `smtp://` (validation allows it only to this machine) sends in clear. User and password
//! come from the URL; the password is a registered secret and errors are masked by callers.

use std::time::Duration;

use std::path::Path;

use lettre::message::header::ContentType;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// One message to send.
pub(crate) struct Mail<'a> {
    /// The SMTP URL, rendered.
    pub smtp: &'a str,
    /// Sender.
    pub from: &'a str,
    /// Recipients.
    pub to: &'a [String],
    /// Subject line.
    pub subject: &'a str,
    /// Plain-text body.
    pub body: &'a str,
    /// A certificate authority to trust besides the public ones.
    pub ca: Option<&'a Path>,
}

/// Sends `mail`; the error says which part failed (address, connection, server answer).
pub(crate) async fn send(mail: &Mail<'_>, timeout: Duration) -> Result<(), String> {
    let message = message(mail)?;
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(mail.smtp)
        .map_err(|e| format!("SMTP URL: {e}"))?
        .timeout(Some(timeout));
    if let Some(ca) = mail.ca {
        builder = builder.tls(trusting(ca, mail.smtp)?);
    }
    let transport = builder.build();
    let server = server(mail.smtp);
    match tokio::time::timeout(timeout, transport.send(message)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("SMTP {server}: {e}")),
        Err(_) => Err(format!("SMTP {server}: no answer within {}s", timeout.as_secs())),
    }
}

/// The URL's TLS mode (`smtps`: TLS from the start, else STARTTLS required) with `ca`
/// trusted besides the public roots.
fn trusting(ca: &Path, smtp: &str) -> Result<Tls, String> {
    let pem = std::fs::read(ca).map_err(|e| format!("CA file `{}`: {e}", ca.display()))?;
    let cert = Certificate::from_pem(&pem).map_err(|e| format!("CA file `{}`: {e}", ca.display()))?;
    let url = url::Url::parse(smtp).map_err(|e| format!("SMTP URL: {e}"))?;
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_owned();
    let params = TlsParameters::builder(host)
        .add_root_certificate(cert)
        .build_rustls()
        .map_err(|e| format!("TLS settings: {e}"))?;
    Ok(if url.scheme() == "smtps" {
        Tls::Wrapper(params)
    } else {
        Tls::Required(params)
    })
}

fn message(mail: &Mail<'_>) -> Result<Message, String> {
    let mut builder = Message::builder()
        .from(mail.from.parse().map_err(|e| format!("sender `{}`: {e}", mail.from))?)
        .subject(mail.subject)
        .header(ContentType::TEXT_PLAIN);
    for to in mail.to {
        builder = builder.to(to.parse().map_err(|e| format!("recipient `{to}`: {e}"))?);
    }
    builder.body(mail.body.to_string()).map_err(|e| format!("message: {e}"))
}

/// `host:port` of an SMTP URL (never its user or password).
fn server(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            Some(format!(
                "{}:{}",
                u.host_str()?,
                u.port().unwrap_or(if u.scheme() == "smtps" { 465 } else { 25 })
            ))
        })
        .unwrap_or_else(|| "<SMTP URL that does not parse>".into())
}
