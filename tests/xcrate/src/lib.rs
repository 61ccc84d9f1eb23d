//! Cross-crate registration fixture.
