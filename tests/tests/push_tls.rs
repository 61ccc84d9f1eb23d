//! Pushing over TLS: an `https://` endpoint whose certificate a private CA
//! signed is trusted through `ca_file` and receives the payloads; without
//! the CA, or under a name the certificate does not hold, the handshake
//! fails, the failure is reported and nothing arrives.
//! The collector is a TLS server in this test (rustls, a certificate for
//! `localhost` made with rcgen).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use telltale::push::{self, EndpointConfig, EndpointStatus, PushConfig, RetryPolicy};

/// A TLS collector on a free loopback port: counts the requests whose body
/// is not empty; its CA certificate in PEM.
struct Collector {
    port: u16,
    ca_pem: String,
    received: Arc<AtomicUsize>,
}

async fn start_collector() -> Collector {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(AtomicUsize::new(0));
    let counted = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, counted) = (acceptor.clone(), counted.clone());
            tokio::spawn(async move {
                // A client that does not trust the certificate hangs up here.
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                    let counted = counted.clone();
                    async move {
                        let body = request.into_body().collect().await?.to_bytes();
                        if !body.is_empty() {
                            counted.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::new())))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    Collector {
        port,
        ca_pem: ca.pem(),
        received,
    }
}

fn endpoint(name: &str, port: u16) -> EndpointConfig {
    let mut endpoint =
        EndpointConfig::remote_write(format!("https://localhost:{port}/api/v1/write")).named(name);
    endpoint.interval = Duration::from_mins(1);
    endpoint.timeout = Duration::from_secs(5);
    endpoint.retry = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    endpoint
}

/// Starts a pusher with `endpoint` alone, pushes once and stops it: whether
/// the push was delivered, and the endpoint's status after it.
async fn push_once(endpoint: EndpointConfig) -> (bool, EndpointStatus) {
    let pusher = push::start(PushConfig {
        endpoints: vec![endpoint],
        ..PushConfig::default()
    })
    .expect("start");
    let delivered = pusher.flush().await.iter().all(|o| o.delivered);
    let status = pusher.status().remove(0);
    pusher.shutdown().await;
    (delivered, status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_endpoints_trust_their_ca_file_and_refuse_an_unknown_issuer() {
    let collector = start_collector().await;
    let dir = telltale_tests::TempDir::new("push-tls").unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &collector.ca_pem).unwrap();

    let mut trusted = endpoint("trusted", collector.port);
    trusted.ca_file = Some(ca_file.clone());
    let (delivered, status) = push_once(trusted).await;
    assert!(delivered, "{status:?}");
    assert!(
        status.payloads_sent >= 1 && status.last_error.is_none(),
        "{status:?}"
    );
    assert!(collector.received.load(Ordering::SeqCst) >= 1);

    // The built-in roots do not know the private CA.
    let before = collector.received.load(Ordering::SeqCst);
    let (_, status) = push_once(endpoint("untrusted", collector.port)).await;
    let error = status.last_error.clone().unwrap_or_default();
    assert_eq!(status.payloads_sent, 0, "{status:?}");
    assert!(
        error.contains("https://localhost") && error.to_lowercase().contains("certificate"),
        "{error}"
    );
    assert_eq!(collector.received.load(Ordering::SeqCst), before);

    // The certificate names `localhost`: trusted, but not for 127.0.0.1.
    let mut by_address = endpoint("by-address", collector.port);
    by_address.url = format!("https://127.0.0.1:{}/api/v1/write", collector.port);
    by_address.ca_file = Some(ca_file.clone());
    let (_, status) = push_once(by_address).await;
    let error = status.last_error.clone().unwrap_or_default();
    assert_eq!(status.payloads_sent, 0, "{status:?}");
    assert!(error.contains("not valid for name"), "{error}");
    assert_eq!(collector.received.load(Ordering::SeqCst), before);
}
