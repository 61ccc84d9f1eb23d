//! The Prometheus Pushgateway: grouping-key paths, and a one-shot push for
//! batch jobs that end.
//!
//! A job that runs to completion pushes its final values once before it
//! exits; a long-running [`Pusher`](super::Pusher) pushes at every interval.
//!
//! ```no_run
//! use telltale::push::{pushgateway, EndpointConfig};
//!
//! # async fn batch() -> Result<(), telltale::Error> {
//! // ... the job's work, instrumented with #[tracked] ...
//! let mut gateway = EndpointConfig::pushgateway("http://127.0.0.1:9091", "nightly_import");
//! gateway.pushgateway.grouping.insert("instance".into(), "db/eu-1".into());
//! pushgateway::push_once(&gateway).await?;
//! # Ok(())
//! # }
//! ```

use super::config::{EndpointConfig, Protocol};
use super::endpoint::{self, Target};
pub use super::grouping::group_path;
use crate::error::Error;

/// Pushes the metrics as they are now to the Pushgateway `config` names,
/// once, and waits for the answer (retrying as its
/// [`retry`](EndpointConfig::retry) policy says).
///
/// For batch jobs that end: call it last, before the process exits. It
/// needs a tokio runtime with the time and I/O drivers; it starts no task
/// that outlives it.
///
/// # Errors
///
/// [`Error::Push`] when `config` is not a valid Pushgateway endpoint, or
/// when the gateway could not be reached or refused the push (the gateway's
/// answer is quoted).
pub async fn push_once(config: &EndpointConfig) -> Result<(), Error> {
    if config.protocol != Protocol::Pushgateway {
        return Err(Error::Push {
            endpoint: config.display_name().into_owned(),
            field: Some("protocol".into()),
            reason: format!(
                "push_once pushes to a Pushgateway, not to a {} endpoint",
                config.protocol
            ),
        });
    }
    let target = Target::new(config)?;
    let client = endpoint::client(&target.tls);
    let body = target.wire.body()?;
    let stats = endpoint::Stats::default();
    endpoint::deliver(&client, &target, &config.retry, body.into(), &stats)
        .await
        .map_err(|e| Error::Push {
            endpoint: target.name.clone(),
            field: None,
            reason: e.message,
        })
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::super::config::PushgatewayOptions;
    use super::super::grouping::check;
    use super::*;

    fn options(job: &str, grouping: &[(&str, &str)]) -> PushgatewayOptions {
        PushgatewayOptions {
            job: job.into(),
            grouping: grouping
                .iter()
                .map(|&(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            ..PushgatewayOptions::default()
        }
    }

    fn decode(text: &str) -> String {
        String::from_utf8(
            base64::engine::general_purpose::URL_SAFE
                .decode(text)
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn grouping_key_paths() {
        assert_eq!(group_path(&options("j", &[])), "/metrics/job/j");
        assert_eq!(
            group_path(&options("a/b", &[("instance", "x")])),
            "/metrics/job@base64/YS9i/instance/x"
        );
        assert_eq!(
            group_path(&options("j", &[("path", "/var/tmp"), ("blank", "")])),
            "/metrics/job/j/blank@base64/=/path@base64/L3Zhci90bXA="
        );
        assert_eq!(decode("L3Zhci90bXA="), "/var/tmp");
        // Characters the standard base64 alphabet would write as `+` and `/`
        // come out as `-` and `_`, safe in a path.
        let path = group_path(&options("j", &[("k", "/??>")]));
        let encoded = path.rsplit('/').next().unwrap();
        assert!(!encoded.contains('+'), "{path}");
        assert_eq!(decode(encoded), "/??>");
        assert_eq!(
            group_path(&options("j", &[("k", "ä b%c@d")])),
            "/metrics/job/j/k/%C3%A4%20b%25c%40d"
        );
    }

    #[test]
    fn grouping_keys_are_checked() {
        assert!(check(&options("j", &[("instance", "x")])).is_ok());
        assert_eq!(
            check(&options("", &[])).unwrap_err().field,
            "pushgateway.job"
        );
        assert_eq!(
            check(&options("j", &[("bad-name", "x")]))
                .unwrap_err()
                .field,
            "pushgateway.grouping.bad-name"
        );
        assert!(check(&options("j", &[("__x", "x")])).is_err());
        assert!(check(&options("j", &[("job", "x")])).is_err());
    }
}
