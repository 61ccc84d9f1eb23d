//! Checks for the names that end up in an exposition: series names, label
//! names and label values. Each returns the reason a name is rejected.

/// Label names that telltale's function series already carry.
pub(crate) const FUNCTION_LABELS: &[&str] = &["function", "module", "result", "error"];

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

/// Label names the exposition formats give a meaning of their own: the
/// bucket bound of a histogram and the quantile of a summary.
pub(crate) const FORMAT_LABELS: &[&str] = &["le", "quantile"];

/// A label name of a label set: `[a-zA-Z_][a-zA-Z0-9_]*`, no `__` prefix,
/// not one of [`FORMAT_LABELS`]. The names telltale's function series use
/// are allowed: a label set may also key a family of its own.
pub(crate) fn check_label_set_name(name: &str) -> Result<(), String> {
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
    if FORMAT_LABELS.contains(&name) {
        let meaning = if name == "le" {
            "the upper bound of a histogram bucket"
        } else {
            "the quantile of a summary"
        };
        return Err(format!(
            "the label name `{name}` is reserved: the exposition formats use it for {meaning}"
        ));
    }
    Ok(())
}

/// A label name of an instrumented function: a valid label-set name (see
/// [`check_label_set_name`]) that is not one of [`FUNCTION_LABELS`].
pub(crate) fn check_label_name(name: &str) -> Result<(), String> {
    check_label_set_name(name)?;
    if FUNCTION_LABELS.contains(&name) {
        return Err(format!(
            "the label name `{name}` is reserved: telltale's function series already use {}",
            FUNCTION_LABELS
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
        for reserved in FUNCTION_LABELS.iter().chain(FORMAT_LABELS) {
            assert!(check_label_name(reserved).is_err());
        }
    }

    #[test]
    fn label_set_names() {
        assert!(check_label_set_name("method").is_ok());
        assert!(check_label_set_name("error").is_ok());
        assert!(check_label_set_name("function").is_ok());
        assert!(check_label_set_name("type").is_ok());
        assert!(check_label_set_name("").is_err());
        assert!(check_label_set_name("a-b").is_err());
        assert!(check_label_set_name("1a").is_err());
        assert!(check_label_set_name("__x").is_err());
        assert!(check_label_set_name("le").is_err());
        assert!(check_label_set_name("quantile").is_err());
    }
}
