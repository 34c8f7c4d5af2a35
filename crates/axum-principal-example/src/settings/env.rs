//! How a variable is read: trimmed, and a variable set to an empty string counts as unset.

/// The environment as the settings read it (`std::env::var(..).ok()` in `main`, a map in
/// tests).
pub(super) struct Env<F>(pub(super) F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// `name`'s value, trimmed; `None` when unset or blank.
    pub(super) fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }
}

/// Comma-separated values, trimmed, empty items dropped.
pub(super) fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}
