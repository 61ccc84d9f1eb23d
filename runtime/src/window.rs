//! Time windows over snapshots: rates, success rates, summaries and percentiles over the last seconds, minutes or hours.
