//! TLS clients for the TLS suite: a self-signed certificate for the server
//! and rustls clients that trust it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpStream;

use crate::common::{Client, PATIENCE};

/// A self-signed certificate for localhost and 127.0.0.1 in `dir`: (cert, key).
pub fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    confab_server::generate_self_signed(dir, &["localhost".into(), "127.0.0.1".into()])
        .expect("generate a self-signed certificate")
}

/// A rustls client trusting exactly the certificates in `ca` (PEM).
pub fn tls_connector(ca: &Path) -> tokio_rustls::TlsConnector {
    tokio_rustls::TlsConnector::from(tls_client_config(ca))
}

/// The client configuration of `tls_connector`.
pub fn tls_client_config(ca: &Path) -> Arc<rustls::ClientConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
}

pub type TlsClient = Client<tokio_rustls::client::TlsStream<TcpStream>>;

/// TCP, then the TLS handshake for `127.0.0.1`.
pub async fn tls_connect(
    addr: SocketAddr,
    connector: &tokio_rustls::TlsConnector,
) -> std::io::Result<TlsClient> {
    let tcp = TcpStream::connect(addr).await?;
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = tokio::time::timeout(PATIENCE, connector.connect(name, tcp))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake hung"))??;
    Ok(Client::new(tls, "tls"))
}

/// Connects over TLS and logs in as the guest `name` (see `Client::login_as`).
pub async fn tls_login(
    addr: SocketAddr,
    connector: &tokio_rustls::TlsConnector,
    name: &str,
    flags: u8,
) -> TlsClient {
    let mut conn = tls_connect(addr, connector)
        .await
        .unwrap_or_else(|e| panic!("{name}: TLS connect failed: {e}"));
    conn.name = name.to_string();
    conn.greet_and_login(name, flags).await;
    conn
}
