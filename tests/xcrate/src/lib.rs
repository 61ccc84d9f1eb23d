//! A second library crate of the workspace. Its instrumented functions must
//! appear in the first exposition of any binary that links it, at zero,
//! before any of them is called.

use telltale::{timed, tracked, LabelValue};

/// Why a port could not be parsed.
#[derive(Debug, LabelValue)]
pub enum PortError {
    /// Not a number.
    NotANumber,
    /// Zero is not a port.
    Zero,
}

/// Parses a TCP port.
#[tracked]
pub fn xcrate_parse_port(s: &str) -> Result<u16, PortError> {
    let port: u16 = s.parse().map_err(|_| PortError::NotANumber)?;
    if port == 0 {
        return Err(PortError::Zero);
    }
    Ok(port)
}

/// Sums a slice.
#[timed]
pub fn xcrate_sum(values: &[u64]) -> u64 {
    values.iter().sum()
}
