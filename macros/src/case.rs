//! Case conversion of variant names into label values.

/// How `#[derive(LabelValue)]` spells a variant that has no `rename`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RenameRule {
    /// `NotFound` → `not_found` (the default).
    Snake,
    /// `NotFound` → `not-found`.
    Kebab,
    /// `NotFound` → `notfound`.
    Lower,
    /// `NotFound` → `NOTFOUND`.
    Upper,
    /// `NotFound` → `NOT_FOUND`.
    ScreamingSnake,
    /// `NotFound` → `NOT-FOUND`.
    ScreamingKebab,
    /// `NotFound` → `notFound`.
    Camel,
    /// `NotFound` → `NotFound`.
    Pascal,
}

impl RenameRule {
    /// Every accepted spelling, for error messages.
    pub(crate) const NAMES: &'static [&'static str] = &[
        "snake_case",
        "kebab-case",
        "lowercase",
        "UPPERCASE",
        "SCREAMING_SNAKE_CASE",
        "SCREAMING-KEBAB-CASE",
        "camelCase",
        "PascalCase",
    ];

    pub(crate) fn from_name(name: &str) -> Option<RenameRule> {
        Some(match name {
            "snake_case" => RenameRule::Snake,
            "kebab-case" => RenameRule::Kebab,
            "lowercase" => RenameRule::Lower,
            "UPPERCASE" => RenameRule::Upper,
            "SCREAMING_SNAKE_CASE" => RenameRule::ScreamingSnake,
            "SCREAMING-KEBAB-CASE" => RenameRule::ScreamingKebab,
            "camelCase" => RenameRule::Camel,
            "PascalCase" => RenameRule::Pascal,
            _ => return None,
        })
    }

    /// Applies the rule to a variant name (already unraw'd).
    pub(crate) fn apply(self, variant: &str) -> String {
        let words = words(variant);
        let lower = || words.iter().map(|w| w.to_ascii_lowercase());
        let upper = || words.iter().map(|w| w.to_ascii_uppercase());
        match self {
            RenameRule::Snake => lower().collect::<Vec<_>>().join("_"),
            RenameRule::Kebab => lower().collect::<Vec<_>>().join("-"),
            RenameRule::Lower => lower().collect(),
            RenameRule::Upper => upper().collect(),
            RenameRule::ScreamingSnake => upper().collect::<Vec<_>>().join("_"),
            RenameRule::ScreamingKebab => upper().collect::<Vec<_>>().join("-"),
            RenameRule::Camel => lower()
                .enumerate()
                .map(|(i, w)| if i == 0 { w } else { capitalize(&w) })
                .collect(),
            RenameRule::Pascal => lower().map(|w| capitalize(&w)).collect(),
        }
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// Splits an identifier into words: at underscores, before an upper-case
/// letter that follows a lower-case letter or a digit, and before the last
/// upper-case letter of an acronym that a lower-case letter follows
/// (`HTTPError` → `HTTP`, `Error`). Digits stay with the word before them.
fn words(ident: &str) -> Vec<String> {
    let chars: Vec<char> = ident.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if c.is_uppercase() && !current.is_empty() {
            let prev = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_uppercase() && next_is_lower)
            {
                words.push(std::mem::take(&mut current));
            }
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::RenameRule::*;
    use super::*;

    #[test]
    fn splits_words() {
        assert_eq!(words("NotFound"), ["Not", "Found"]);
        assert_eq!(words("HTTPError"), ["HTTP", "Error"]);
        assert_eq!(words("Io"), ["Io"]);
        assert_eq!(words("IO"), ["IO"]);
        assert_eq!(words("Http2Error"), ["Http2", "Error"]);
        assert_eq!(words("Status404"), ["Status404"]);
        assert_eq!(words("Already_Done"), ["Already", "Done"]);
        assert_eq!(words("ABc"), ["A", "Bc"]);
    }

    #[test]
    fn applies_rules() {
        assert_eq!(Snake.apply("NotFound"), "not_found");
        assert_eq!(Snake.apply("HTTPError"), "http_error");
        assert_eq!(Snake.apply("Timeout"), "timeout");
        assert_eq!(Kebab.apply("NotFound"), "not-found");
        assert_eq!(Lower.apply("NotFound"), "notfound");
        assert_eq!(Upper.apply("NotFound"), "NOTFOUND");
        assert_eq!(ScreamingSnake.apply("NotFound"), "NOT_FOUND");
        assert_eq!(ScreamingKebab.apply("HTTPError"), "HTTP-ERROR");
        assert_eq!(Camel.apply("NotFound"), "notFound");
        assert_eq!(Camel.apply("HTTPError"), "httpError");
        assert_eq!(Pascal.apply("NotFound"), "NotFound");
        assert_eq!(Pascal.apply("HTTPError"), "HttpError");
    }

    #[test]
    fn every_name_parses() {
        for name in RenameRule::NAMES {
            assert!(RenameRule::from_name(name).is_some(), "{name}");
        }
        assert_eq!(RenameRule::from_name("snake"), None);
    }
}
