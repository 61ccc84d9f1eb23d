//! Checks for the names that end up in an exposition: series names, label
//! names and label values. Each returns the reason a name is rejected.

/// Label names that the exposition formats or telltale's own series use.
pub(crate) const RESERVED_LABELS: &[&str] =
    &["le", "quantile", "function", "module", "result", "error"];

/// A series base name: `[a-zA-Z_:][a-zA-Z0-9_:]*`, no `__` prefix, and no
/// `_total` suffix (counters get it added).
pub(crate) fn check_series_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the series name is empty".to_owned());
    }
    if let Some(bad) = first_invalid(
        name,
        |c| c.is_ascii_alphabetic() || c == '_' || c == ':',
        |c| c.is_ascii_alphanumeric() || c == '_' || c == ':',
    ) {
        return Err(format!(
            "invalid series name `{name}`: {bad}; a series name matches [a-zA-Z_:][a-zA-Z0-9_:]*"
        ));
    }
    if name.starts_with("__") {
        return Err(format!(
            "invalid series name `{name}`: names starting with `__` are reserved"
        ));
    }
    if let Some(base) = name.strip_suffix("_total") {
        return Err(format!(
            "invalid series name `{name}`: leave out the `_total` suffix, telltale adds it to the counter (`name = \"{base}\"`)"
        ));
    }
    Ok(())
}

/// A label name: `[a-zA-Z_][a-zA-Z0-9_]*`, no `__` prefix, not one of
/// [`RESERVED_LABELS`].
pub(crate) fn check_label_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the label name is empty".to_owned());
    }
    if let Some(bad) = first_invalid(
        name,
        |c| c.is_ascii_alphabetic() || c == '_',
        |c| c.is_ascii_alphanumeric() || c == '_',
    ) {
        return Err(format!(
            "invalid label name `{name}`: {bad}; a label name matches [a-zA-Z_][a-zA-Z0-9_]*"
        ));
    }
    if name.starts_with("__") {
        return Err(format!(
            "invalid label name `{name}`: names starting with `__` are reserved"
        ));
    }
    if RESERVED_LABELS.contains(&name) {
        return Err(format!(
            "the label name `{name}` is reserved: telltale's series already use {}",
            RESERVED_LABELS
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(())
}

fn first_invalid(
    name: &str,
    first: impl Fn(char) -> bool,
    rest: impl Fn(char) -> bool,
) -> Option<String> {
    let mut chars = name.chars();
    let c = chars.next()?;
    if !first(c) {
        return Some(format!("it cannot start with {c:?}"));
    }
    chars
        .find(|&c| !rest(c))
        .map(|c| format!("{c:?} is not allowed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_names() {
        assert!(check_series_name("http_requests").is_ok());
        assert!(check_series_name("ns:requests_2").is_ok());
        assert!(check_series_name("_private").is_ok());
        assert!(check_series_name("").is_err());
        assert!(check_series_name("2xx").is_err());
        assert!(check_series_name("a-b").is_err());
        assert!(check_series_name("__x").is_err());
        assert!(check_series_name("calls_total").is_err());
    }

    #[test]
    fn label_names() {
        assert!(check_label_name("method").is_ok());
        assert!(check_label_name("_x9").is_ok());
        assert!(check_label_name("a:b").is_err());
        assert!(check_label_name("9a").is_err());
        assert!(check_label_name("__name").is_err());
        for reserved in RESERVED_LABELS {
            assert!(check_label_name(reserved).is_err());
        }
    }
}
