use super::SelectorError;

/// A parsed field selector: a conjunction of `field=value`, `field==value`
/// and `field!=value` terms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    // helper: fill in
}

impl FieldSelector {
    /// Parses `?fieldSelector=` syntax, e.g. `metadata.name=x,status.phase!=Running`
    /// (with upstream's backslash escaping of `,`, `=` and `\` in values).
    pub fn parse(_s: &str) -> Result<Self, SelectorError> {
        todo!("helper: fill in")
    }

    /// The field paths this selector mentions (to check they are supported).
    pub fn fields(&self) -> Vec<&str> {
        todo!("helper: fill in")
    }

    /// Whether an object matches, given a way to read a field's value
    /// (`None` for a field the object does not have: it compares as "").
    pub fn matches(&self, _field: &dyn Fn(&str) -> Option<String>) -> bool {
        todo!("helper: fill in")
    }

    pub fn is_empty(&self) -> bool {
        todo!("helper: fill in")
    }
}
