//! Completion indexes of an Indexed Job and their wire form, the interval
//! strings of `status.completedIndexes` / `status.failedIndexes`
//! (`"1,3-5,7"`: ascending, disjoint, adjacent runs merged).

use std::collections::BTreeSet;

/// A set of completion indexes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexSet(BTreeSet<i32>);

impl IndexSet {
    /// Parses an interval string, keeping only indexes below `completions`;
    /// malformed parts are skipped, as upstream does.
    pub fn parse(s: &str, completions: i32) -> Self {
        let mut set = BTreeSet::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (first, last) = match part.split_once('-') {
                Some((a, b)) => (a.parse::<i32>(), b.parse::<i32>()),
                None => (part.parse(), part.parse()),
            };
            let (Ok(first), Ok(last)) = (first, last) else {
                continue;
            };
            if first < 0 || last < first {
                continue;
            }
            set.extend((first..=last.min(completions - 1)).take(1_000_000));
        }
        Self(set)
    }

    pub fn insert(&mut self, index: i32) -> bool {
        self.0.insert(index)
    }

    pub fn contains(&self, index: i32) -> bool {
        self.0.contains(&index)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = i32> + '_ {
        self.0.iter().copied()
    }
}

impl std::fmt::Display for IndexSet {
    /// The interval string: `0-4`, `1,3-5`, or empty.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut runs: Vec<(i32, i32)> = Vec::new();
        for i in self.iter() {
            match runs.last_mut() {
                Some((_, last)) if *last + 1 == i => *last = i,
                _ => runs.push((i, i)),
            }
        }
        let parts: Vec<String> = runs
            .iter()
            .map(|(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_strings_round_trip_and_merge_adjacent_runs() {
        let mut s = IndexSet::parse("1,3-5", 10);
        assert_eq!(s.to_string(), "1,3-5");
        s.insert(2);
        assert_eq!(s.to_string(), "1-5");
        s.insert(7);
        assert_eq!(s.to_string(), "1-5,7");
        assert_eq!(s.len(), 6);
        assert_eq!(IndexSet::default().to_string(), "");
    }

    #[test]
    fn parsing_drops_out_of_range_and_malformed_parts() {
        assert_eq!(IndexSet::parse("0-9", 5).to_string(), "0-4");
        assert_eq!(IndexSet::parse("x,2,5-3,-1", 5).to_string(), "2");
    }
}
