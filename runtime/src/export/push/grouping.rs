//! A Pushgateway group: its path below the gateway's base URL, and the
//! checks of its job and grouping labels.

use std::fmt::Write as _;

use base64::Engine as _;

use super::config::{FieldError, PushgatewayOptions};

/// The path, below the gateway's base URL, of the group that `options`
/// names: `/metrics/job/<job>{/<label>/<value>}`.
///
/// A job or value that contains a `/`, or is empty, is written in the
/// base64url alphabet after `@base64` (`/instance@base64/ZGIvMQ==`), as the
/// Pushgateway asks; any other is percent-encoded except for the characters
/// `A-Z a-z 0-9 - . _ ~`. Label names are written as they are (they are
/// checked by [`push::start`](super::start) and
/// [`push_once`](super::pushgateway::push_once)).
///
/// ```
/// use telltale::push::{pushgateway, PushgatewayOptions};
///
/// let mut options = PushgatewayOptions { job: "backup".into(), ..Default::default() };
/// options.grouping.insert("instance".into(), "db/1".into());
/// options.grouping.insert("zone".into(), "eu west".into());
/// options.grouping.insert("empty".into(), "".into());
/// assert_eq!(
///     pushgateway::group_path(&options),
///     "/metrics/job/backup/empty@base64/=/instance@base64/ZGIvMQ==/zone/eu%20west",
/// );
/// ```
pub fn group_path(options: &PushgatewayOptions) -> String {
    let mut path = String::from("/metrics");
    push_pair(&mut path, "job", &options.job);
    for (name, value) in &options.grouping {
        push_pair(&mut path, name, value);
    }
    path
}

fn push_pair(path: &mut String, name: &str, value: &str) {
    path.push('/');
    path.push_str(name);
    if value.is_empty() {
        // The Pushgateway reads a lone `=` as the empty value.
        path.push_str("@base64/=");
    } else if value.contains('/') {
        path.push_str("@base64/");
        path.push_str(&base64::engine::general_purpose::URL_SAFE.encode(value));
    } else {
        path.push('/');
        for byte in value.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                path.push(char::from(byte));
            } else {
                let _ = write!(path, "%{byte:02X}");
            }
        }
    }
}

/// Checks the job and grouping labels of a Pushgateway endpoint.
pub(crate) fn check(options: &PushgatewayOptions) -> Result<(), FieldError> {
    if options.job.is_empty() {
        return Err(FieldError::new(
            "pushgateway.job",
            "the job must not be empty",
        ));
    }
    for name in options.grouping.keys() {
        if let Err(e) = crate::error::check_label_name(name) {
            return Err(FieldError::new(
                format!("pushgateway.grouping.{name}"),
                e.to_string(),
            ));
        }
        if name == "job" {
            return Err(FieldError::new(
                "pushgateway.grouping.job",
                "the job is set by `pushgateway.job`",
            ));
        }
    }
    Ok(())
}
