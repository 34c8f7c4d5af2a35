//! A token's bytes as introspection keeps them (the answer cache, the calls in flight):
//! compared and hashed in full, wiped when dropped, never printed.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};

/// An owned copy of a token.
pub(crate) struct TokenBytes(Box<[u8]>);

impl TokenBytes {
    pub(crate) fn new(token: &[u8]) -> Self {
        Self(token.into())
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for TokenBytes {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut *self.0);
    }
}

impl fmt::Debug for TokenBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenBytes({} bytes)", self.0.len())
    }
}

impl PartialEq for TokenBytes {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for TokenBytes {}

/// Hashes as the byte slice does, so a map keyed by it is looked up with `&[u8]`.
impl Hash for TokenBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl Borrow<[u8]> for TokenBytes {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let shown = format!("{:?}", TokenBytes::new(b"ory_at_secret.sig"));
        assert_eq!(shown, "TokenBytes(17 bytes)");
    }
}
