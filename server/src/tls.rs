//! TLS with rustls (ring provider, no OpenSSL): the same Confab bytes inside
//! (`[TRANSPORT-2]`), and a self-signed certificate for local use.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::ring::default_provider;
use rustls::ServerConfig;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Why TLS could not be set up or a certificate written: the file, and
/// what the OS, the PEM reader or rustls said about it.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading TLS certificate {}: {source}", path.display())]
    ReadCertificate { path: PathBuf, source: io::Error },
    #[error("reading TLS certificate {}: {source}", path.display())]
    ParseCertificate { path: PathBuf, source: pem::Error },
    #[error("reading TLS certificate {}: it holds no certificate", path.display())]
    NoCertificate { path: PathBuf },
    #[error("reading TLS private key {}: {source}", path.display())]
    ReadKey { path: PathBuf, source: io::Error },
    #[error("reading TLS private key {}: {source}", path.display())]
    ParseKey { path: PathBuf, source: pem::Error },
    #[error("the TLS certificate and key do not make a TLS identity: {0}")]
    Identity(#[source] rustls::Error),
    #[error("making a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("creating {}: {source}", path.display())]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("writing {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

/// A TLS acceptor for the PEM certificate chain and private key.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    // Read first, then parse: an unreadable file is reported with the OS's
    // own words, not as a PEM error.
    let cert_pem = std::fs::read(cert).map_err(|source| TlsError::ReadCertificate {
        path: cert.to_path_buf(),
        source,
    })?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|source| TlsError::ParseCertificate {
            path: cert.to_path_buf(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert.to_path_buf(),
        });
    }
    let key_pem = std::fs::read(key).map_err(|source| TlsError::ReadKey {
        path: key.to_path_buf(),
        source,
    })?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|source| TlsError::ParseKey {
        path: key.to_path_buf(),
        source,
    })?;
    let config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Identity)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(TlsError::Identity)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The acceptor new handshakes use, replaced whole when a reload reads a
/// new certificate and key; handshakes under way keep the one they began with.
pub(crate) struct LiveAcceptor(std::sync::RwLock<TlsAcceptor>);

impl LiveAcceptor {
    pub fn new(acceptor: TlsAcceptor) -> LiveAcceptor {
        LiveAcceptor(std::sync::RwLock::new(acceptor))
    }

    /// The acceptor for one new handshake (a cheap `Arc` clone).
    pub fn current(&self) -> TlsAcceptor {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn replace(&self, acceptor: TlsAcceptor) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = acceptor;
    }
}

/// Writes `cert.pem` and `key.pem`, self-signed for `hosts`, into `dir`.
pub fn generate_self_signed(dir: &Path, hosts: &[String]) -> Result<(PathBuf, PathBuf), TlsError> {
    let certified = rcgen::generate_simple_self_signed(hosts.to_vec())?;
    std::fs::create_dir_all(dir).map_err(|source| TlsError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, certified.cert.pem()).map_err(|source| TlsError::Write {
        path: cert_path.clone(),
        source,
    })?;
    write_private(&key_path, &certified.signing_key.serialize_pem()).map_err(|source| {
        TlsError::Write {
            path: key_path.clone(),
            source,
        }
    })?;
    Ok((cert_path, key_path))
}

/// The key file is readable by its owner only.
fn write_private(path: &Path, contents: &str) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(contents.as_bytes())
    }
    #[cfg(not(unix))]
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory of its own under the system's temporary directory.
    fn scratch(label: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("confab-tls-unit-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_missing_certificate_is_named_with_the_os_error() {
        let dir = scratch("missing-cert");
        let (_, key) = generate_self_signed(&dir, &["localhost".into()]).unwrap();
        let missing = dir.join("nowhere.pem");
        let error = acceptor(&missing, &key).err().expect("no acceptor");
        assert!(matches!(&error, TlsError::ReadCertificate { source, .. }
            if source.kind() == io::ErrorKind::NotFound));
        // ENOENT, in the OS's own words: "No such file or directory (os error 2)".
        let enoent = io::Error::from_raw_os_error(2);
        assert_eq!(
            error.to_string(),
            format!("reading TLS certificate {}: {enoent}", missing.display())
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_or_unusable_key_is_named() {
        let dir = scratch("missing-key");
        let (cert, _) = generate_self_signed(&dir, &["localhost".into()]).unwrap();
        let missing = dir.join("no-key.pem");
        let error = acceptor(&cert, &missing).err().expect("no acceptor");
        assert!(matches!(&error, TlsError::ReadKey { path, .. } if *path == missing));
        let enoent = io::Error::from_raw_os_error(2);
        assert_eq!(
            error.to_string(),
            format!("reading TLS private key {}: {enoent}", missing.display())
        );

        // The certificate given as the key: readable, but no key in it.
        let error = acceptor(&cert, &cert).err().expect("no acceptor");
        assert!(matches!(&error, TlsError::ParseKey { path, .. } if *path == cert));
        assert!(error
            .to_string()
            .starts_with(&format!("reading TLS private key {}: ", cert.display())));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_without_certificates_is_refused() {
        let dir = scratch("empty-cert");
        let (_, key) = generate_self_signed(&dir, &["localhost".into()]).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let error = acceptor(&empty, &key).err().expect("no acceptor");
        assert!(matches!(error, TlsError::NoCertificate { .. }), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_generated_certificate_makes_an_acceptor() {
        let dir = scratch("generated");
        let (cert, key) = generate_self_signed(&dir, &["localhost".into()]).unwrap();
        assert!(acceptor(&cert, &key).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
