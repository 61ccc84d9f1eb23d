//! A service loop: a fallible async cycle run at an interval, with cycle, duration and failure-streak metrics.
