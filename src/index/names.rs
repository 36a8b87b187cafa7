//! Chunks by name, for queries that are one identifier. Each live chunk with a
//! symbol is listed under [`symbol_key`], so `rmtree`, `RmTree` and `rm_tree`
//! find the same chunks whatever words the keyword index splits them into.

use std::collections::HashMap;

use super::search::symbol_key;

/// Point ids of the live chunks of one collection, by the key of their name.
#[derive(Debug, Default)]
pub struct NameIndex {
    by_key: HashMap<String, Vec<usize>>,
    key_of: HashMap<usize, String>,
}

impl NameIndex {
    /// Lists chunk `point_id` under the key of `symbol`, replacing an earlier entry.
    pub fn insert(&mut self, point_id: usize, symbol: &str) {
        self.remove(&[point_id]);
        let key = symbol_key(symbol);
        if key.is_empty() {
            return;
        }
        self.by_key.entry(key.clone()).or_default().push(point_id);
        self.key_of.insert(point_id, key);
    }

    /// Removes the given chunks. Ids that are not listed are ignored.
    pub fn remove(&mut self, point_ids: &[usize]) {
        for id in point_ids {
            let Some(key) = self.key_of.remove(id) else {
                continue;
            };
            if let Some(ids) = self.by_key.get_mut(&key) {
                ids.retain(|listed| listed != id);
                if ids.is_empty() {
                    self.by_key.remove(&key);
                }
            }
        }
    }

    /// Returns the chunks listed under `key`, in the order they were listed.
    pub fn get(&self, key: &str) -> &[usize] {
        self.by_key.get(key).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_share_a_key() {
        let mut names = NameIndex::default();
        names.insert(1, "shutil.rmtree");
        names.insert(2, "_rmtree");
        names.insert(3, "RmTree");
        names.insert(4, "copytree");
        assert_eq!(names.get("rmtree"), [1, 2, 3]);
        assert_eq!(names.get("copytree"), [4]);
        assert!(names.get("missing").is_empty());
    }

    #[test]
    fn remove_and_replace() {
        let mut names = NameIndex::default();
        names.insert(1, "load");
        names.insert(2, "load");
        names.remove(&[1, 99]);
        assert_eq!(names.get("load"), [2]);
        names.insert(2, "save");
        assert!(names.get("load").is_empty());
        assert_eq!(names.get("save"), [2]);
        names.insert(3, "___");
        assert!(names.get("").is_empty());
    }
}
