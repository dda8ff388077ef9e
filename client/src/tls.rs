//! TLS for the client (rustls, ring provider): the system's roots plus an
//! optional CA file, such as the one `confab-server gen-cert` writes.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::crypto::ring::default_provider;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio_rustls::TlsConnector;

/// A connector trusting the system roots and every certificate in `ca`.
pub fn connector(ca: Option<&Path>) -> Result<TlsConnector, String> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        // A system certificate rustls cannot use is skipped, not fatal.
        let _ = roots.add(cert);
    }
    if let Some(ca) = ca {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca)
            .and_then(|certs| certs.collect())
            .map_err(|e| format!("cannot read the CA file {}: {e}", ca.display()))?;
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("{} holds an unusable certificate: {e}", ca.display()))?;
        }
    }
    if roots.is_empty() {
        return Err("no trusted certificates: give one with --ca".into());
    }
    let config = ClientConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The name to verify the server's certificate against: the host part of `host:port`.
pub fn server_name(addr: &str) -> io::Result<ServerName<'static>> {
    let host = match addr.rsplit_once(':') {
        Some((host, _port)) => host.trim_start_matches('[').trim_end_matches(']'),
        None => addr,
    };
    ServerName::try_from(host.to_string())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{host}: {e}")))
}

/// A failed connection attempt in words that say what is wrong and what to
/// do: rustls's own errors name the symptom only.
pub fn explain(error: &io::Error) -> String {
    use rustls::{CertificateError, Error, InvalidMessage};
    let rustls_error = error.get_ref().and_then(|e| e.downcast_ref::<Error>());
    match rustls_error {
        // A plain server answers the TLS hello with Confab bytes.
        Some(Error::InvalidMessage(InvalidMessage::InvalidContentType))
        | Some(Error::InvalidMessage(_)) => "the server does not speak TLS (it answered the TLS \
             handshake with something else): connect without --tls and --ca"
            .into(),
        Some(Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
            "the server's certificate is not signed by an authority this client trusts: if the \
             server uses a self-signed certificate, pass it with --ca FILE (the cert.pem that \
             `confab-server gen-cert` wrote)"
                .into()
        }
        Some(Error::InvalidCertificate(CertificateError::NotValidForName))
        | Some(Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })) => {
            "the server's certificate is not valid for this host name: connect with a name it \
             lists (gen-cert --host NAME adds one)"
                .into()
        }
        Some(Error::InvalidCertificate(CertificateError::Expired))
        | Some(Error::InvalidCertificate(CertificateError::ExpiredContext { .. })) => {
            "the server's certificate has expired".into()
        }
        Some(other) => format!("TLS failed: {other}"),
        None => crate::connection::describe_io(error),
    }
}
