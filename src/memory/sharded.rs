//! [`Sharded`]: one logical hash table kept as many small ones; [`Striped`]: such small
//! tables (or anything else) each behind a lock of its own.
//!
//! A single table doubles as it grows, and each doubling moves every entry into a new,
//! never-touched allocation while the store's lock is held: at 200,000 grants that is one
//! request stalled for milliseconds behind a multi-megabyte copy, and a page fault for every
//! 4 KiB of the new table. Split into [`SHARDS`] tables, each doubling moves a [`SHARDS`]th of
//! the entries, so the worst stall shrinks by as much, and the allocations are small enough
//! for the allocator to serve from memory other shards gave back. The amortised number of
//! moves per insert is the same.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, Hash};
use std::sync::{Mutex, MutexGuard};

/// How many tables one logical table is split into.
pub(super) const SHARDS: usize = 64;

/// A hash map split by bits 32 to 37 of the key's hash: bits the shards themselves use only
/// once one holds more than 2^32 buckets, so within a shard keys spread as they would in one
/// table.
#[derive(Debug)]
pub(super) struct Sharded<K, V, S> {
    shards: Box<[HashMap<K, V, S>]>,
}

impl<K, V, S: Default> Default for Sharded<K, V, S> {
    fn default() -> Self {
        Self { shards: (0..SHARDS).map(|_| HashMap::default()).collect() }
    }
}

impl<K: Eq + Hash, V, S: BuildHasher + Default> Sharded<K, V, S> {
    /// Room for about `entries` entries before any shard grows.
    pub(super) fn with_capacity(entries: usize) -> Self {
        Self { shards: (0..SHARDS).map(|_| HashMap::with_capacity_and_hasher(share(entries), S::default())).collect() }
    }

    fn index(key: &K) -> usize {
        // `S` is a stateless hasher builder here (a `BuildHasherDefault`), so a fresh one hashes
        // as the shard's own does.
        shard_of::<K, S>(key)
    }

    fn shard(&self, key: &K) -> &HashMap<K, V, S> {
        &self.shards[Self::index(key)]
    }

    fn shard_mut(&mut self, key: &K) -> &mut HashMap<K, V, S> {
        &mut self.shards[Self::index(key)]
    }

    pub(super) fn get(&self, key: &K) -> Option<&V> {
        self.shard(key).get(key)
    }

    pub(super) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.shard_mut(key).get_mut(key)
    }

    #[cfg(test)]
    pub(super) fn contains_key(&self, key: &K) -> bool {
        self.shard(key).contains_key(key)
    }

    pub(super) fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        self.shard_mut(&key).entry(key)
    }

    pub(super) fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.shard_mut(&key).insert(key, value)
    }

    pub(super) fn remove(&mut self, key: &K) -> Option<V> {
        self.shard_mut(key).remove(key)
    }

    pub(super) fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        for shard in self.shards.iter_mut() {
            shard.retain(&mut keep);
        }
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards.iter().flat_map(HashMap::iter)
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.shards.iter().flat_map(HashMap::values)
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(HashMap::len).sum()
    }

    /// The room of the smallest shard.
    #[cfg(test)]
    pub(super) fn min_capacity(&self) -> usize {
        self.shards.iter().map(HashMap::capacity).min().unwrap_or(0)
    }

    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.shards.iter().all(HashMap::is_empty)
    }

    /// Gives each shard's memory back once it is less than a quarter full.
    pub(super) fn shrink_if_sparse(&mut self) {
        for shard in self.shards.iter_mut() {
            shrink_if_sparse(shard);
        }
    }
}

/// Gives a table's memory back once it is less than a quarter full, so a purge after a burst
/// does not keep the burst's footprint.
pub(super) fn shrink_if_sparse<K: Eq + std::hash::Hash, V, S: std::hash::BuildHasher>(map: &mut HashMap<K, V, S>) {
    if map.len() < map.capacity() / 4 {
        map.shrink_to_fit();
    }
}

/// One shard's room when the whole should hold about `entries`: its share and half again, as
/// keys do not fall evenly.
pub(super) fn share(entries: usize) -> usize {
    let even = entries.div_ceil(SHARDS);
    even + even / 2
}

/// The shard `key` belongs in, by bits 32 to 37 of its hash under `S` (a stateless builder).
pub(super) fn shard_of<K: Hash + ?Sized, S: BuildHasher + Default>(key: &K) -> usize {
    (S::default().hash_one(key) >> 32) as usize % SHARDS
}

/// [`SHARDS`] values of `T`, each behind its own lock on its own cache line, so threads that
/// work on different shards neither wait for each other nor pass a line of memory back and
/// forth.
#[derive(Debug)]
pub(super) struct Striped<T> {
    stripes: Box<[Stripe<T>]>,
}

#[derive(Debug, Default)]
#[repr(align(64))]
struct Stripe<T>(Mutex<T>);

impl<T> Striped<T> {
    /// Stripes made by `make`.
    pub(super) fn new(mut make: impl FnMut() -> T) -> Self {
        Self { stripes: (0..SHARDS).map(|_| Stripe(Mutex::new(make()))).collect() }
    }

    /// Locks shard `index` (below [`SHARDS`]). A poisoned lock only means another thread
    /// panicked mid-operation; every operation leaves its shard consistent before it can
    /// panic.
    pub(super) fn lock(&self, index: usize) -> MutexGuard<'_, T> {
        self.stripes[index % SHARDS].0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every shard, locked one after the other, in index order.
    pub(super) fn each(&self) -> impl Iterator<Item = MutexGuard<'_, T>> {
        (0..SHARDS).map(|index| self.lock(index))
    }
}

impl<T: Default> Default for Striped<T> {
    fn default() -> Self {
        Self::new(T::default)
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasherDefault;

    use super::*;
    use crate::types::TokenHash;

    type Map = Sharded<TokenHash, usize, BuildHasherDefault<super::super::DigestHasher>>;

    #[test]
    fn a_sharded_map_behaves_as_one_map_and_spreads_digests_over_every_shard() {
        let mut map = Map::default();
        let keys: Vec<TokenHash> = (0..4096).map(|i| TokenHash::of(&format!("token-{i}"))).collect();
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(map.insert(*key, i), None);
        }
        assert_eq!(map.len(), keys.len());
        assert!(map.shards.iter().all(|shard| (32..=100).contains(&shard.len())), "every shard holds about 64");
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(map.get(key), Some(&i));
        }
        *map.get_mut(&keys[7]).unwrap() = 70;
        assert!(matches!(map.entry(keys[7]), Entry::Occupied(e) if *e.get() == 70));
        assert_eq!(map.remove(&keys[7]), Some(70));
        assert!(!map.contains_key(&keys[7]));
        map.retain(|_, v| *v % 2 == 0);
        assert_eq!(map.len(), 2048);
        assert_eq!(map.values().count(), 2048);
        assert!(map.iter().all(|(k, v)| keys[*v] == *k));
        map.retain(|_, _| false);
        map.shrink_if_sparse();
        assert!(map.is_empty());
        assert!(map.shards.iter().all(|shard| shard.capacity() == 0));
    }

    #[test]
    fn a_shard_gets_its_share_and_half_again() {
        assert_eq!([share(0), share(1), share(64), share(4096), share(4097)], [0, 1, 1, 96, 97]);
    }

    #[test]
    fn a_table_gives_its_room_back_only_below_a_quarter_full() {
        let mut map: HashMap<TokenHash, usize, BuildHasherDefault<super::super::DigestHasher>> =
            HashMap::with_capacity_and_hasher(1000, BuildHasherDefault::default());
        let capacity = map.capacity();
        for i in 0..capacity / 4 {
            map.insert(TokenHash::of(&format!("token-{i}")), i);
        }
        shrink_if_sparse(&mut map);
        assert_eq!(map.capacity(), capacity, "a quarter full keeps its room");
        map.remove(&TokenHash::of("token-0"));
        shrink_if_sparse(&mut map);
        assert!(map.capacity() < capacity, "below a quarter it shrinks");
    }

    #[test]
    fn striped_values_are_locked_one_at_a_time_and_each_visits_all_in_order() {
        let striped: Striped<Vec<usize>> = Striped::default();
        for index in 0..SHARDS {
            striped.lock(index).push(index);
        }
        let seen: Vec<usize> = striped.each().map(|values| values[0]).collect();
        assert_eq!(seen, (0..SHARDS).collect::<Vec<_>>());
        let held = striped.lock(3);
        assert!(striped.stripes[3].0.try_lock().is_err(), "the stripe is held");
        assert!(striped.stripes[4].0.try_lock().is_ok(), "its neighbour is not");
        drop(held);
        assert_eq!(std::mem::align_of::<Stripe<()>>(), 64, "each lock on a cache line of its own");
    }

    #[test]
    fn a_map_made_with_capacity_takes_that_many_keys_without_any_shard_growing() {
        let mut map = Map::with_capacity(4096);
        let before: Vec<usize> = map.shards.iter().map(HashMap::capacity).collect();
        for i in 0..4096 {
            map.insert(TokenHash::of(&format!("token-{i}")), i);
        }
        let after: Vec<usize> = map.shards.iter().map(HashMap::capacity).collect();
        assert_eq!(before, after);
    }
}
