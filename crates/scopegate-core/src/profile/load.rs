//! Loading a profile: the built-in ones, TOML text or a file, `extends` and overrides (a deep
//! merge of TOML tables), then validation.

use std::path::Path;

use super::error::invalid;
use super::schema::RawProfile;
use super::validate::Validator;
use super::{MAX_PROFILE_BYTES, ProfileError, Provider};

const BUILTINS: [(&str, &str); 4] = [
    ("yespo", include_str!("../../providers/yespo.toml")),
    ("reteno", include_str!("../../providers/reteno.toml")),
    ("yotpo", include_str!("../../providers/yotpo.toml")),
    ("yuvo", include_str!("../../providers/yuvo.toml")),
];

impl Provider {
    /// Ids of the built-in profiles.
    pub fn builtin_ids() -> impl Iterator<Item = &'static str> {
        BUILTINS.iter().map(|(id, _)| *id)
    }

    /// The TOML text of a built-in profile.
    pub fn builtin_source(id: &str) -> Option<&'static str> {
        BUILTINS.iter().find(|(i, _)| *i == id).map(|(_, s)| *s)
    }

    /// Loads a built-in profile (`yespo`, `reteno`, `yotpo`, `yuvo`).
    pub fn builtin(id: &str) -> Result<Provider, ProfileError> {
        let src = Self::builtin_source(id).ok_or_else(|| unknown_builtin(id))?;
        Self::from_toml_str(src, &format!("builtin:{id}"))
    }

    /// Loads every built-in profile.
    pub fn builtins() -> Result<Vec<Provider>, ProfileError> {
        Self::builtin_ids().map(Self::builtin).collect()
    }

    /// Parses a profile from TOML text. `origin` names the text in error messages (a path,
    /// `<string>`...). A profile with `extends = "<built-in id>"` is merged onto that built-in.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Provider, ProfileError> {
        let table = parse_table(text, origin)?;
        let base = match table.get("extends") {
            Some(toml::Value::String(id)) => {
                let src = Self::builtin_source(id).ok_or_else(|| unknown_builtin(id))?;
                let mut base = parse_table(src, &format!("builtin:{id}"))?;
                base.remove("extends");
                Some((base, format!("builtin:{id} + {origin}")))
            }
            Some(_) => return Err(invalid(origin, "extends", "must be a string naming a built-in profile")),
            None => None,
        };
        match base {
            Some((mut base, merged_origin)) => {
                let mut table = table;
                table.remove("extends");
                merge(&mut base, table);
                Self::from_table(base, &merged_origin)
            }
            None => Self::from_table(table, origin),
        }
    }

    /// Reads and parses a profile file (at most [`MAX_PROFILE_BYTES`]).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Provider, ProfileError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|error| ProfileError::Io { path: shown.clone(), error })?;
        let text = std::str::from_utf8(&bytes).map_err(|e| ProfileError::Parse {
            origin: shown.clone(),
            line: None,
            column: None,
            message: format!("profile is not valid utf-8 (at byte {})", e.valid_up_to()),
        })?;
        Self::from_toml_str(text, &shown)
    }

    /// Parses a profile from raw bytes (must be UTF-8 TOML).
    pub fn from_toml_bytes(bytes: &[u8], origin: &str) -> Result<Provider, ProfileError> {
        let text = std::str::from_utf8(bytes).map_err(|e| ProfileError::Parse {
            origin: origin.to_owned(),
            line: None,
            column: None,
            message: format!("profile is not valid utf-8 (at byte {})", e.valid_up_to()),
        })?;
        Self::from_toml_str(text, origin)
    }

    /// A copy of this profile with the fields of `overrides` (TOML text, same schema, every field
    /// optional) laid over it, validated again. Example: point Yotpo at its token endpoint with
    /// `[token]\nurl = "https://..."`, or every URL at a local server.
    pub fn with_overrides(&self, overrides: &str, origin: &str) -> Result<Provider, ProfileError> {
        let table = parse_table(overrides, origin)?;
        if table.contains_key("extends") {
            return Err(invalid(origin, "extends", "is not allowed in an override"));
        }
        let mut base = self.raw.clone();
        merge(&mut base, table);
        Self::from_table(base, &format!("{} + {origin}", self.origin))
    }

    fn from_table(table: toml::Table, origin: &str) -> Result<Provider, ProfileError> {
        let raw: RawProfile = toml::Value::Table(table.clone()).try_into().map_err(|e: toml::de::Error| {
            ProfileError::Parse { origin: origin.to_owned(), line: None, column: None, message: e.message().to_owned() }
        })?;
        Validator { origin }.validate(raw, table)
    }
}

fn unknown_builtin(id: &str) -> ProfileError {
    ProfileError::UnknownBuiltin {
        id: id.chars().take(64).collect(),
        known: Provider::builtin_ids().collect::<Vec<_>>().join(", "),
    }
}

/// Parses TOML text into a table and checks it against the schema, so that schema errors in
/// user files come with a line and column.
fn parse_table(text: &str, origin: &str) -> Result<toml::Table, ProfileError> {
    if text.len() > MAX_PROFILE_BYTES {
        return Err(ProfileError::TooLarge { origin: origin.to_owned(), len: text.len(), limit: MAX_PROFILE_BYTES });
    }
    let positioned = |e: toml::de::Error| {
        let (line, column) = match e.span() {
            Some(span) => {
                let (l, c) = line_col(text, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        // `message()` only: the Display form quotes the source line, which we do not echo.
        ProfileError::Parse { origin: origin.to_owned(), line, column, message: e.message().trim().to_owned() }
    };
    let table: toml::Table = toml::from_str(text).map_err(positioned)?;
    let _: RawProfile = toml::from_str(text).map_err(|e| {
        // Schema errors ("invalid type: integer `5`, expected a string") name the field too.
        let field = e.span().and_then(|span| field_at(text, span.start));
        match (positioned(e), field) {
            (ProfileError::Parse { origin, line, column, message }, Some(f)) if !message.starts_with(&f) => {
                ProfileError::Parse { origin, line, column, message: format!("{f}: {message}") }
            }
            (err, _) => err,
        }
    })?;
    Ok(table)
}

/// The dotted name (`token.url`) of the `key = value` line at `offset`, under the nearest table
/// header above it. `None` when the line is not a simple key line.
fn field_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text.get(..offset)?.rfind('\n').map_or(0, |p| p + 1);
    let line = text[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let bare =
        |k: &str| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if !bare(key) {
        return None;
    }
    let table = text[..start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|h| h.trim_start_matches('[').split(']').next().unwrap_or("").trim().to_owned());
    Some(match table {
        Some(t) if bare(&t) => format!("{t}.{key}"),
        _ => key.to_owned(),
    })
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.as_bytes().get(..offset).unwrap_or_default();
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line, column)
}

/// Deep merge: tables merge key by key, anything else in `over` replaces what `base` had.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}
