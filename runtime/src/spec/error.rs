//! [`SpecError`]: what is wrong with a config, and where (a JSON path).

/// What kind of problem a [`SpecError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecErrorKind {
    /// The bytes are not JSON (or nest too deep).
    Syntax,
    /// JSON, but a value has the wrong type or a required field is missing.
    Type,
    /// Well-typed, but refused by validation.
    Invalid,
    /// The file could not be read ([`super::load_file`]).
    Io,
}

/// An invalid config. Displays as `<json path>: <what is wrong>`, e.g.
/// `linux.namespaces[2].type: unknown namespace "pidd"`; syntax errors use the
/// file name as the path (`config.json: invalid JSON at line 3, column 14: ...`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SpecError {
    /// The kind of problem.
    pub kind: SpecErrorKind,
    /// The JSON path of the offending value (`process.args`,
    /// `mounts[4].destination`), or the file name for syntax errors.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl SpecError {
    /// A validation error at `path`.
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError {
            kind: SpecErrorKind::Invalid,
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn new(
        kind: SpecErrorKind,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        SpecError {
            kind,
            path: path.into(),
            message: message.into(),
        }
    }
}

impl From<SpecError> for crate::error::Error {
    fn from(e: SpecError) -> Self {
        crate::error::Error::Config(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_path_then_message() {
        let e = SpecError::invalid("process.args", "must not be empty");
        assert_eq!(e.to_string(), "process.args: must not be empty");
        let e: crate::error::Error = e.into();
        assert_eq!(e.kind(), crate::error::ErrorKind::InvalidConfig);
        assert_eq!(e.to_string(), "process.args: must not be empty");
    }
}
