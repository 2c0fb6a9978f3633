//! `CycleState`: data plugins share within one scheduling cycle.

use std::any::{Any, TypeId};

/// Per-cycle storage keyed by type: each plugin defines its own state type,
/// writes it in PreFilter/PreScore and reads it in Filter/Score. Also records
/// which plugins asked to be skipped at Filter and Score.
#[derive(Default)]
pub struct CycleState {
    entries: Vec<(TypeId, Box<dyn Any + Send + Sync>)>,
    skip_filter: Vec<&'static str>,
    skip_score: Vec<&'static str>,
}

impl CycleState {
    /// Empty state for a new cycle.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `value`, replacing any previous value of the same type.
    pub fn write<T: Any + Send + Sync>(&mut self, value: T) {
        let id = TypeId::of::<T>();
        let boxed: Box<dyn Any + Send + Sync> = Box::new(value);
        match self.entries.iter_mut().find(|(t, _)| *t == id) {
            Some(entry) => entry.1 = boxed,
            None => self.entries.push((id, boxed)),
        }
    }

    /// The stored value of type `T`.
    pub fn read<T: Any + Send + Sync>(&self) -> Option<&T> {
        let id = TypeId::of::<T>();
        self.entries
            .iter()
            .find(|(t, _)| *t == id)
            .and_then(|(_, v)| v.downcast_ref::<T>())
    }

    /// The stored value of type `T`, mutably (PreFilter extensions).
    pub fn read_mut<T: Any + Send + Sync>(&mut self) -> Option<&mut T> {
        let id = TypeId::of::<T>();
        self.entries
            .iter_mut()
            .find(|(t, _)| *t == id)
            .and_then(|(_, v)| v.downcast_mut::<T>())
    }

    pub(crate) fn skip_filter(&mut self, plugin: &'static str) {
        self.skip_filter.push(plugin);
    }

    pub(crate) fn skip_score(&mut self, plugin: &'static str) {
        self.skip_score.push(plugin);
    }

    /// True when the plugin's PreFilter returned Skip.
    pub fn is_filter_skipped(&self, plugin: &str) -> bool {
        self.skip_filter.contains(&plugin)
    }

    /// True when the plugin's PreScore returned Skip.
    pub fn is_score_skipped(&self, plugin: &str) -> bool {
        self.skip_score.contains(&plugin)
    }
}

impl std::fmt::Debug for CycleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CycleState")
            .field("entries", &self.entries.len())
            .field("skip_filter", &self.skip_filter)
            .field("skip_score", &self.skip_score)
            .finish()
    }
}
