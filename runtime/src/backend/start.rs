//! Starting the chosen backend.

use crate::backend::kind::Backend;
use crate::error::Error;

/// Starts `backend`: nothing for `single`.
pub(crate) fn start(backend: &Backend) -> Result<(), Error> {
    match backend {
        Backend::Single => Ok(()),
        #[cfg(feature = "backend-file")]
        Backend::File(options) => crate::backend::file::start(options),
        #[cfg(feature = "backend-redis")]
        Backend::Redis(options) => crate::backend::redis::start(options),
        #[allow(unreachable_patterns)]
        other => Err(Error::Backend {
            backend: other.name(),
            reason: format!(
                "telltale was built without the backend-{} feature",
                other.name()
            ),
        }),
    }
}
