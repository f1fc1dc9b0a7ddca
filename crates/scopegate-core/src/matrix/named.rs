//! How a set of rights prints: [`Rights`] alone knows only its bits; with the matrix of its
//! profile ([`PermissionMatrix::named`]) it prints the rights' ids.

use std::fmt;

use super::{PermissionMatrix, Rights};

impl fmt::Debug for Rights {
    /// `Rights{1, 3}`: the indexes of the profile's rights in the set (a `Rights` value does not
    /// know its profile; [`PermissionMatrix::named`] prints the ids).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Rights")?;
        f.debug_set().entries(self.indices()).finish()
    }
}

/// A set of rights with the names its profile gives them: Debug prints `{"events", "messages"}`,
/// Display `events, messages` (`(none)` for the empty set). A bit the profile has no right for
/// prints as `#index`.
#[derive(Clone, Copy)]
pub struct NamedRights<'a> {
    matrix: &'a PermissionMatrix,
    rights: Rights,
}

impl NamedRights<'_> {
    fn names(&self) -> impl Iterator<Item = Name<'_>> {
        self.rights.indices().map(|i| match self.matrix.rights().get(i) {
            Some(r) => Name::Id(&r.id),
            None => Name::Unknown(i),
        })
    }
}

enum Name<'a> {
    Id(&'a str),
    Unknown(usize),
}

impl fmt::Debug for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Id(id) => fmt::Debug::fmt(id, f),
            Name::Unknown(i) => write!(f, "#{i}"),
        }
    }
}

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Id(id) => f.write_str(id),
            Name::Unknown(i) => write!(f, "#{i}"),
        }
    }
}

impl fmt::Debug for NamedRights<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

impl fmt::Display for NamedRights<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rights.is_empty() {
            return f.write_str("(none)");
        }
        for (n, name) in self.names().enumerate() {
            if n > 0 {
                f.write_str(", ")?;
            }
            fmt::Display::fmt(&name, f)?;
        }
        Ok(())
    }
}

impl PermissionMatrix {
    /// `rights` with the ids this profile gives them, for Debug and Display.
    pub fn named(&self, rights: Rights) -> NamedRights<'_> {
        NamedRights { matrix: self, rights }
    }
}
