//! The matrix's input: the rights and groups of API methods it is compiled from, and the parser
//! of endpoint templates (`"PUT contact/{id}"`). A profile validates its rights and groups into
//! these types; the `profile` module re-exports them under their usual names.

use std::collections::BTreeSet;

use crate::method::Method;

/// One access right an app can be granted at registration (Yespo: `full_api`, `events`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Right {
    /// Identifier used in rights sets.
    pub id: String,
    /// Human-readable name as the provider's document gives it.
    pub title: String,
    /// Whether this right opens every group.
    pub all_groups: bool,
    /// Indexes of the groups it opens, into the group list (a profile's `Provider::groups`).
    pub groups: Vec<usize>,
}

/// One segment of an endpoint's path template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateSegment {
    /// Must match this text exactly.
    Static(String),
    /// `{name}`: matches exactly one non-empty segment.
    Param(String),
}

/// An API method listed in a group: method plus path template relative to the API base.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointTemplate {
    /// The method.
    pub method: Method,
    /// The template as written (`contact/{id}/subscriptions`).
    pub template: String,
    /// The template split into segments.
    pub segments: Vec<TemplateSegment>,
    /// Whether the provider marks it as old / deprecated.
    pub deprecated: bool,
}

/// A group of API methods opened by the same rights.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Identifier referenced by rights.
    pub id: String,
    /// Human-readable name.
    pub title: String,
    /// Whether the group needs no right at all (any authorized token may call it).
    pub open: bool,
    /// The endpoints in the group.
    pub endpoints: Vec<EndpointTemplate>,
}

/// The shape of a template with parameter names erased (two templates of one shape are ambiguous).
pub(crate) fn normalized_shape(segments: &[TemplateSegment]) -> String {
    segments
        .iter()
        .map(|s| match s {
            TemplateSegment::Static(t) => t.as_str(),
            TemplateSegment::Param(_) => "{}",
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Parses `"METHOD path/{param}"`.
pub(crate) fn parse_endpoint(text: &str) -> Result<EndpointTemplate, String> {
    let text = text.trim();
    let (m, path) = text.split_once(' ').ok_or("must be \"METHOD path\", e.g. \"PUT contact/{id}\"")?;
    let method = m.parse::<Method>().map_err(|e| e.to_string())?;
    let path = path.trim();
    if path.is_empty() {
        return Err("the path is empty".into());
    }
    if path.starts_with('/') || path.ends_with('/') {
        return Err("the path is relative to the API base and has no leading or trailing `/`".into());
    }
    let mut segments = Vec::new();
    let mut names = BTreeSet::new();
    if path.split('/').count() > crate::matrix::MAX_SEGMENTS {
        return Err(format!("the path has more than {} segments", crate::matrix::MAX_SEGMENTS));
    }
    for seg in path.split('/') {
        if seg.is_empty() {
            return Err("the path has an empty segment (`//`)".into());
        }
        if seg == "." || seg == ".." {
            return Err("the path has a dot segment".into());
        }
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(format!("`{seg}`: a parameter is `{{name}}` with a name of A-Z, a-z, 0-9 or `_`"));
            }
            if !names.insert(name.to_owned()) {
                return Err(format!("parameter `{name}` appears twice"));
            }
            segments.push(TemplateSegment::Param(name.to_owned()));
        } else {
            if !seg.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)) {
                return Err(format!(
                    "`{seg}`: a static segment is made of A-Z, a-z, 0-9, `-`, `.`, `_`, `~`; a parameter fills a whole segment"
                ));
            }
            segments.push(TemplateSegment::Static(seg.to_owned()));
        }
    }
    Ok(EndpointTemplate { method, template: path.to_owned(), segments, deprecated: false })
}
