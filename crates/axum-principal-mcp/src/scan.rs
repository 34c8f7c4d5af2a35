//! Which MCP operation a JSON-RPC message asks for, read from a prefix of its bytes: the
//! top-level `method`, and the `params.name` (tools, prompts) or `params.uri` (resources)
//! it names. A small scanner rather than a JSON parser, so that a request whose body is
//! still arriving (or larger than the layer will hold) is judged from what came first,
//! without ever holding more than the prefix.
//!
//! Keys and strings are decoded as JSON decodes them (`"meth\u006fd"` is `method`), so the
//! scanner reads the message as rmcp will. A member this scanner needs that appears twice
//! in the prefix makes the message [`Scan::Invalid`]; rmcp's own parser refuses duplicate
//! fields too (see the crate's tests), which covers a duplicate beyond the prefix.

use std::borrow::Cow;

/// The operation of one JSON-RPC message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Operation {
    /// The top-level `method` (none for a response).
    pub(crate) method: Option<String>,
    /// `params.name`, or `params.uri`, whichever the method names its target with.
    pub(crate) name: Option<String>,
}

/// What a prefix says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The operation is known.
    Done(Operation),
    /// The prefix ends before the operation is known.
    NeedMore,
    /// Not one JSON object, or a member the operation depends on appears twice.
    Invalid,
}

/// The methods whose target is `params.name`, and those whose target is `params.uri` (as
/// rmcp's `Mcp-Name` rules name them).
pub(crate) const NAMED_BY_NAME: [&str; 2] = ["tools/call", "prompts/get"];
/// See [`NAMED_BY_NAME`].
pub(crate) const NAMED_BY_URI: [&str; 3] = [
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
];

/// Whether `method` names a target (so the operation needs its name too).
pub(crate) fn names_a_target(method: &str) -> bool {
    NAMED_BY_NAME.contains(&method) || NAMED_BY_URI.contains(&method)
}

/// Scans `bytes`, the first bytes of a message (`complete`: all of it).
pub(crate) fn scan(bytes: &[u8], complete: bool) -> Scan {
    let mut scanner = Scanner {
        bytes,
        at: 0,
        method: None,
        name: None,
        uri: None,
        params_seen: false,
    };
    match scanner.message() {
        Step::Ok => scanner.operation(),
        Step::Short if complete => Scan::Invalid,
        Step::Short => match scanner.known() {
            Some(operation) => Scan::Done(operation),
            None => Scan::NeedMore,
        },
        Step::Bad => Scan::Invalid,
    }
}

/// How far one step of the scanner got.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Ok,
    /// The prefix ended inside it.
    Short,
    /// Not JSON, or a duplicate.
    Bad,
}

/// `?` for [`Step`]: anything but `Ok` ends the caller with it.
macro_rules! step {
    ($e:expr) => {
        match $e {
            Step::Ok => {}
            other => return other,
        }
    };
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
    method: Option<String>,
    name: Option<String>,
    uri: Option<String>,
    params_seen: bool,
}

/// Nesting deeper than this is refused rather than followed (no recursion is used, but a
/// bound keeps the count honest).
const MAX_DEPTH: usize = 128;

impl Scanner<'_> {
    /// The operation, once the whole message has been read.
    fn operation(&self) -> Scan {
        Scan::Done(Operation {
            method: self.method.clone(),
            name: self.target(),
        })
    }

    /// The operation from a prefix, when nothing after it can change it: the method is
    /// known and, if it names a target, so is the target.
    fn known(&self) -> Option<Operation> {
        let method = self.method.as_deref()?;
        let name = self.target();
        if names_a_target(method) && name.is_none() {
            return None;
        }
        Some(Operation {
            method: Some(method.to_owned()),
            name,
        })
    }

    fn target(&self) -> Option<String> {
        match self.method.as_deref() {
            Some(m) if NAMED_BY_NAME.contains(&m) => self.name.clone(),
            Some(m) if NAMED_BY_URI.contains(&m) => self.uri.clone(),
            _ => None,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Consumes `byte`, after whitespace.
    fn expect(&mut self, byte: u8) -> Step {
        self.skip_ws();
        match self.peek() {
            None => Step::Short,
            Some(b) if b == byte => {
                self.at += 1;
                Step::Ok
            }
            Some(_) => Step::Bad,
        }
    }

    /// The top-level object, then nothing but whitespace.
    fn message(&mut self) -> Step {
        step!(self.object(Level::Top));
        self.skip_ws();
        if self.at == self.bytes.len() {
            Step::Ok
        } else {
            Step::Bad
        }
    }

    /// An object at `level`, remembering the members that level cares about.
    fn object(&mut self, level: Level) -> Step {
        step!(self.expect(b'{'));
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Step::Ok;
        }
        loop {
            self.skip_ws();
            let key = match self.string() {
                Ok(key) => key,
                Err(step) => return step,
            };
            step!(self.expect(b':'));
            self.skip_ws();
            step!(self.member(level, &key));
            self.skip_ws();
            match self.peek() {
                None => return Step::Short,
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Step::Ok;
                }
                Some(_) => return Step::Bad,
            }
        }
    }

    /// The value of member `key` of an object at `level`.
    fn member(&mut self, level: Level, key: &str) -> Step {
        match (level, key) {
            (Level::Top, "method") => self.remember_string(|s| &mut s.method),
            (Level::Top, "params") => {
                if std::mem::replace(&mut self.params_seen, true) {
                    return Step::Bad;
                }
                match self.peek() {
                    Some(b'{') => self.object(Level::Params),
                    _ => self.skip_value(),
                }
            }
            (Level::Params, "name") => self.remember_string(|s| &mut s.name),
            (Level::Params, "uri") => self.remember_string(|s| &mut s.uri),
            _ => self.skip_value(),
        }
    }

    /// A string value kept in the slot `slot` picks; a second one is a duplicate. A value
    /// of another type is skipped (rmcp refuses such a message, and a target that is not
    /// a string names nothing).
    fn remember_string(&mut self, slot: fn(&mut Self) -> &mut Option<String>) -> Step {
        if slot(self).is_some() {
            return Step::Bad;
        }
        if self.peek() != Some(b'"') {
            return self.skip_value();
        }
        match self.string() {
            Ok(value) => {
                *slot(self) = Some(value);
                Step::Ok
            }
            Err(step) => step,
        }
    }

    /// A JSON string at the cursor, decoded.
    fn string(&mut self) -> Result<String, Step> {
        let start = self.at;
        if self.peek() != Some(b'"') {
            return Err(if self.peek().is_none() {
                Step::Short
            } else {
                Step::Bad
            });
        }
        let mut i = start + 1;
        let mut escaped = false;
        loop {
            match self.bytes.get(i) {
                None => return Err(Step::Short),
                Some(b'\\') => {
                    escaped = true;
                    i += 2;
                }
                Some(b'"') => break,
                Some(b) if *b < 0x20 => return Err(Step::Bad),
                Some(_) => i += 1,
            }
        }
        let raw = self.bytes.get(start..=i).ok_or(Step::Short)?;
        self.at = i + 1;
        let text: Cow<'_, str> = if escaped {
            Cow::Owned(serde_json::from_slice::<String>(raw).map_err(|_| Step::Bad)?)
        } else {
            let inner = raw.get(1..raw.len() - 1).ok_or(Step::Bad)?;
            Cow::Borrowed(std::str::from_utf8(inner).map_err(|_| Step::Bad)?)
        };
        Ok(text.into_owned())
    }

    /// Skips any JSON value, without recursion.
    fn skip_value(&mut self) -> Step {
        let mut depth = 0usize;
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Step::Short,
                Some(b'{' | b'[') => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Step::Bad;
                    }
                    self.at += 1;
                    continue;
                }
                Some(b'}' | b']') if depth > 0 => {
                    depth -= 1;
                    self.at += 1;
                }
                Some(b'"') => {
                    if let Err(step) = self.string() {
                        return step;
                    }
                }
                Some(b',' | b':') if depth > 0 => {
                    self.at += 1;
                    continue;
                }
                Some(b) if b == b'-' || b.is_ascii_alphanumeric() => {
                    while self.peek().is_some_and(|b| {
                        b == b'-' || b == b'+' || b == b'.' || b.is_ascii_alphanumeric()
                    }) {
                        self.at += 1;
                    }
                    if self.peek().is_none() {
                        return Step::Short;
                    }
                }
                Some(_) => return Step::Bad,
            }
            if depth == 0 {
                return Step::Ok;
            }
        }
    }
}

/// Which object the scanner is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Top,
    Params,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: &str, name: Option<&str>) -> Scan {
        Scan::Done(Operation {
            method: Some(method.to_owned()),
            name: name.map(str::to_owned),
        })
    }

    #[test]
    fn whole_messages() {
        let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"reports","arguments":{"a":[1,{"b":"}"}]}}}"#;
        assert_eq!(scan(call, true), op("tools/call", Some("reports")));
        let params_first = br#"{"params":{"arguments":{},"name":"whoami"},"id":"x","method":"tools/call","jsonrpc":"2.0"}"#;
        assert_eq!(scan(params_first, true), op("tools/call", Some("whoami")));
        let read = br#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a","name":"n"}}"#;
        assert_eq!(scan(read, true), op("resources/read", Some("file:///a")));
        let list = br#" {"jsonrpc":"2.0","id":1,"method":"tools/list"} "#;
        assert_eq!(scan(list, true), op("tools/list", None));
        let response = br#"{"jsonrpc":"2.0","id":1,"result":{}}"#;
        assert_eq!(scan(response, true), Scan::Done(Operation::default()));
        let escaped = br#"{"meth\u006fd":"tools\/call","params":{"n\u0061me":"rep\u006frts"}}"#;
        assert_eq!(scan(escaped, true), op("tools/call", Some("reports")));
    }

    #[test]
    fn a_prefix_decides_once_nothing_after_it_can_change_the_operation() {
        let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"reports","arguments":{"pad":"#;
        assert_eq!(scan(call, false), op("tools/call", Some("reports")));
        let no_name_yet =
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{"pad":"xx"#;
        assert_eq!(scan(no_name_yet, false), Scan::NeedMore);
        assert_eq!(scan(no_name_yet, true), Scan::Invalid);
        let no_method_yet = br#"{"jsonrpc":"2.0","params":{"name":"whoami"}"#;
        assert_eq!(scan(no_method_yet, false), Scan::NeedMore);
        let list = br#"{"method":"tools/list","id":"#;
        assert_eq!(scan(list, false), op("tools/list", None));
        for cut in 0..br#"{"method":"tools/call","params":{"name":"r"}}"#.len() {
            let whole = br#"{"method":"tools/call","params":{"name":"r"}}"#;
            let got = scan(&whole[..cut], false);
            assert!(
                got == Scan::NeedMore || got == op("tools/call", Some("r")),
                "{cut}: {got:?}"
            );
        }
    }

    #[test]
    fn duplicates_and_non_objects_are_invalid() {
        for bad in [
            &br#"{"method":"tools/list","method":"tools/call"}"#[..],
            br#"{"method":"tools/call","params":{"name":"whoami","name":"reports"}}"#,
            br#"{"method":"tools/call","params":{"name":"a"},"params":{"name":"b"}}"#,
            br#"{"method":"tools/call","meth\u006fd":"x"}"#,
            br#"[{"method":"tools/call","params":{"name":"reports"}}]"#,
            br#""tools/call""#,
            br#"{"method" "x"}"#,
            br#"{"method":"x"} trailing"#,
            b"{\"method\":\"a\nb\"}",
        ] {
            assert_eq!(
                scan(bad, true),
                Scan::Invalid,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = format!("{{\"a\":{}", "[".repeat(MAX_DEPTH + 1));
        assert_eq!(scan(deep.as_bytes(), false), Scan::Invalid);
    }

    #[test]
    fn a_target_of_another_type_names_nothing() {
        let numeric = br#"{"method":"tools/call","params":{"name":7}}"#;
        assert_eq!(scan(numeric, true), op("tools/call", None));
    }
}
