//! What goes wrong when a profile loads.

/// A profile could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The text is not TOML, or a key or value does not fit the profile schema.
    #[error("{origin}{}: {message}", fmt_position(*.line, *.column))]
    Parse {
        /// Where the text came from (`builtin:yespo`, a file path, `<string>`...).
        origin: String,
        /// 1-based line of the problem, when known.
        line: Option<usize>,
        /// 1-based column of the problem, when known.
        column: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A field is present but its value is not acceptable.
    #[error("{origin}: field `{field}`: {problem}")]
    Invalid {
        /// Where the profile came from.
        origin: String,
        /// Dotted path of the field (`token.url`, `groups[2].endpoints[0]`).
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A required field is absent.
    #[error("{origin}: field `{field}` is required: {hint}")]
    Missing {
        /// Where the profile came from.
        origin: String,
        /// Dotted path of the missing field.
        field: String,
        /// What it is for.
        hint: String,
    },
    /// `extends` or a lookup named a built-in profile that does not exist.
    #[error("no built-in provider profile named `{id}` (built-in: {known})")]
    UnknownBuiltin {
        /// The id asked for.
        id: String,
        /// The built-in ids, comma separated.
        known: String,
    },
    /// A profile file could not be read.
    #[error("{path}: cannot read profile file: {error}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's reason.
        #[source]
        error: std::io::Error,
    },
    /// The profile text is larger than [`MAX_PROFILE_BYTES`](super::MAX_PROFILE_BYTES).
    #[error("{origin}: profile is {len} bytes, more than the {limit}-byte limit")]
    TooLarge {
        /// Where the text came from.
        origin: String,
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
}

fn fmt_position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

pub(super) fn invalid(origin: &str, field: impl Into<String>, problem: impl Into<String>) -> ProfileError {
    ProfileError::Invalid { origin: origin.to_owned(), field: field.into(), problem: problem.into() }
}

pub(super) fn missing(origin: &str, field: &str, hint: &str) -> ProfileError {
    ProfileError::Missing { origin: origin.to_owned(), field: field.to_owned(), hint: hint.to_owned() }
}
