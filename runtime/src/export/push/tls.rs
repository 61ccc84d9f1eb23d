//! The exporters' HTTP client: plain HTTP always; `https://` with the `tls`
//! feature (rustls with ring, Mozilla's roots from `webpki-roots`, and the
//! certificates of an endpoint's `ca_file`). Without the feature an
//! `https://` endpoint is refused when it is configured.

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;

use super::config::FieldError;

/// The TLS settings of an endpoint (trusting no root for `http://`, which
/// never does a handshake).
#[cfg(feature = "tls")]
pub(crate) type Tls = std::sync::Arc<rustls::ClientConfig>;
/// Without the `tls` feature an endpoint has no TLS settings.
#[cfg(not(feature = "tls"))]
#[derive(Debug, Clone)]
pub(crate) struct Tls;

/// The HTTP client of the exporters: hyper's pooled HTTP/1 client.
#[cfg(feature = "tls")]
pub(crate) type Client = HyperClient<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;
/// The HTTP client of the exporters: hyper's pooled HTTP/1 client.
#[cfg(not(feature = "tls"))]
pub(crate) type Client = HyperClient<HttpConnector, Full<Bytes>>;

/// A new client for an endpoint with `tls` settings (one per endpoint, so
/// no endpoint waits on another's pool): plain HTTP, or TLS with the
/// endpoint's trusted roots.
pub(crate) fn client(tls: &Tls) -> Client {
    #[cfg(feature = "tls")]
    {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((**tls).clone())
            .https_or_http()
            .enable_http1()
            .build();
        HyperClient::builder(TokioExecutor::new()).build(connector)
    }
    #[cfg(not(feature = "tls"))]
    {
        let _ = tls;
        HyperClient::builder(TokioExecutor::new()).build(HttpConnector::new())
    }
}

/// The TLS settings for an endpoint of `scheme` (`http` or `https`) and its
/// `ca_file`, or the field at fault and why.
pub(crate) fn settings(scheme: &str, ca_file: Option<&std::path::Path>) -> Result<Tls, FieldError> {
    #[cfg(feature = "tls")]
    {
        let roots = if scheme == "https" {
            roots(ca_file)?
        } else {
            rustls::RootCertStore::empty()
        };
        config(roots).map(std::sync::Arc::new)
    }
    #[cfg(not(feature = "tls"))]
    {
        let _ = ca_file;
        if scheme == "https" {
            return Err(FieldError::new(
                "url",
                "https:// endpoints need telltale's `tls` feature",
            ));
        }
        Ok(Tls)
    }
}

/// The roots an `https://` endpoint trusts: the built-in ones and the
/// certificates of `ca_file`, if given.
#[cfg(feature = "tls")]
fn roots(ca_file: Option<&std::path::Path>) -> Result<rustls::RootCertStore, FieldError> {
    let err = |reason: String| FieldError::new("ca_file", reason);
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_file {
        use rustls_pki_types::pem::PemObject as _;
        let shown = path.display();
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| err(format!("cannot read {shown}: {e}")))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(format!("{shown}: {e}")))?;
        if certs.is_empty() {
            return Err(err(format!("{shown} holds no PEM certificate")));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| err(format!("{shown}: a certificate is not usable: {e}")))?;
        }
    }
    Ok(roots)
}

/// A client configuration trusting `roots`.
#[cfg(feature = "tls")]
fn config(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig, FieldError> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| FieldError::new("url", e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::settings;

    /// Without the `tls` feature an `https://` endpoint is refused with the
    /// feature's name, and `http://` needs nothing.
    #[cfg(not(feature = "tls"))]
    #[test]
    fn https_needs_the_tls_feature() {
        let e = settings("https", None).unwrap_err();
        assert_eq!(e.field, "url");
        assert!(e.reason.contains("`tls` feature"), "{e:?}");
        assert!(settings("http", None).is_ok());
    }

    /// With it, `https://` and `http://` both get settings, and an
    /// unreadable CA file is the `ca_file` field's fault.
    #[cfg(feature = "tls")]
    #[test]
    fn https_reads_the_ca_file() {
        assert!(settings("https", None).is_ok());
        let missing = std::path::Path::new("/nonexistent/ca.pem");
        assert_eq!(
            settings("https", Some(missing)).unwrap_err().field,
            "ca_file"
        );
        assert!(settings("http", None).is_ok());
    }
}
