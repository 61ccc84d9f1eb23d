//! Timers beyond the macros: guards, timed closures and futures, and timing statistics.
