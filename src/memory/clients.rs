//! [`Clients`]: the registered clients, read without touching memory other threads write.
//!
//! Every request looks its client up (a code flow three times), so on a server run by several
//! threads the clients' lock word and each client's reference count would be written by every
//! core on every request, and the cache lines holding them would bounce between cores. Instead
//! each thread keeps its own copies of the clients it serves, and checks them against a
//! version number that only a change of registration writes: a lookup then reads shared
//! memory that stays in every core's cache, and writes only the thread's own.
//!
//! A change (insert, replace, removal) bumps the version of the stripe the client id falls
//! in, after the map is changed and while its write lock is held; a thread uses its copy only
//! while the copy's version is the stripe's current one, and takes a new copy under the read
//! lock otherwise. So a lookup never returns a registration older than the last change that
//! finished before it began. Unknown ids are never cached, so probing random ids fills
//! nothing, and each thread's copies are bounded (`MAX_PER_STORE` per store, `MAX_STORES`
//! stores).

use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, BuildHasherDefault};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock, RwLockWriteGuard};

use super::IdHasher;
use crate::client::Client;
use crate::types::ClientId;

type ClientMap<V> = HashMap<ClientId, V, BuildHasherDefault<IdHasher>>;

/// How many version stripes: a change invalidates the copies of a 64th of the clients.
const STRIPES: usize = 64;
/// The most clients one thread keeps copies of, per store; past it the thread starts over.
const MAX_PER_STORE: usize = 256;
/// The most stores one thread keeps copies for; past it the oldest is dropped.
const MAX_STORES: usize = 4;

/// Each store's number, so a thread's copies are never taken for another store's.
static NEXT_STORE: AtomicU64 = AtomicU64::new(0);

/// The clients of one store, with the versions the threads' copies are checked against.
#[derive(Debug)]
pub(super) struct Clients {
    map: RwLock<ClientMap<Client>>,
    versions: [AtomicU64; STRIPES],
    store: u64,
}

impl Default for Clients {
    fn default() -> Self {
        Self {
            map: RwLock::default(),
            versions: std::array::from_fn(|_| AtomicU64::new(0)),
            store: NEXT_STORE.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// One thread's copies: per store, client id to (version copied at, the copy).
#[derive(Default)]
struct ThreadCopies {
    stores: Vec<(u64, ClientMap<(u64, Client)>)>,
}

thread_local! {
    static COPIES: RefCell<ThreadCopies> = RefCell::default();
}

fn stripe(id: &ClientId) -> usize {
    (BuildHasherDefault::<IdHasher>::default().hash_one(id) >> 58) as usize % STRIPES
}

impl Clients {
    fn version(&self, id: &ClientId) -> u64 {
        self.versions[stripe(id)].load(Ordering::Acquire)
    }

    /// Changes the registration of `id` with `change`, then invalidates every thread's copy.
    pub(super) fn change<T>(&self, id: &ClientId, change: impl FnOnce(&mut ClientMap<Client>) -> T) -> T {
        let mut map = self.write();
        let result = change(&mut map);
        // Under the write lock: a reader that copies under the read lock sees the map and the
        // version of one moment.
        self.versions[stripe(id)].fetch_add(1, Ordering::Release);
        drop(map);
        result
    }

    fn write(&self) -> RwLockWriteGuard<'_, ClientMap<Client>> {
        self.map.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn len(&self) -> usize {
        self.map.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Client `id`, from this thread's copy when it is current.
    pub(super) fn get(&self, id: &ClientId) -> Option<Client> {
        let version = self.version(id);
        let cached = COPIES.try_with(|copies| {
            let copies = copies.borrow();
            let (_, mine) = copies.stores.iter().find(|(store, _)| *store == self.store)?;
            mine.get(id).filter(|(at, _)| *at == version).map(|(_, client)| client.clone())
        });
        match cached {
            Ok(Some(client)) => Some(client),
            // No current copy (or the thread is ending): read the shared map, and keep a copy.
            _ => self.copy(id),
        }
    }

    fn copy(&self, id: &ClientId) -> Option<Client> {
        let (version, client) = {
            let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
            // The version read under the lock matches the map: no change is half done.
            (self.version(id), map.get(id)?.unshared())
        };
        let _ = COPIES.try_with(|copies| {
            let mut copies = copies.borrow_mut();
            let stores = &mut copies.stores;
            let index = match stores.iter().position(|(store, _)| *store == self.store) {
                Some(index) => index,
                None => {
                    if stores.len() == MAX_STORES {
                        stores.remove(0);
                    }
                    stores.push((self.store, ClientMap::default()));
                    stores.len() - 1
                }
            };
            let mine = &mut stores[index].1;
            if mine.len() >= MAX_PER_STORE && !mine.contains_key(id) {
                mine.clear();
            }
            match mine.entry(id.clone()) {
                Entry::Occupied(mut slot) => *slot.get_mut() = (version, client.clone()),
                Entry::Vacant(slot) => {
                    slot.insert((version, client.clone()));
                }
            }
        });
        Some(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &'static str, uri: &str) -> Client {
        Client::public(id).redirect_uri(uri).build().unwrap()
    }

    fn register(clients: &Clients, client: Client) {
        let id = client.id().clone();
        clients.change(&id, |map| map.insert(id.clone(), client));
    }

    fn uris(client: &Client) -> Vec<String> {
        client.redirect_uris().iter().map(|u| u.as_str().to_owned()).collect()
    }

    #[test]
    fn a_change_is_seen_by_the_next_lookup_on_every_thread() {
        let clients = Clients::default();
        register(&clients, client("app", "http://127.0.0.1/one"));
        let app = ClientId::from_static("app");
        // Copies made on this thread and on another one.
        assert_eq!(uris(&clients.get(&app).unwrap()), ["http://127.0.0.1/one"]);
        std::thread::scope(|s| {
            s.spawn(|| assert_eq!(uris(&clients.get(&app).unwrap()), ["http://127.0.0.1/one"]));
        });

        register(&clients, client("app", "http://127.0.0.1/two"));
        assert_eq!(uris(&clients.get(&app).unwrap()), ["http://127.0.0.1/two"]);
        std::thread::scope(|s| {
            s.spawn(|| assert_eq!(uris(&clients.get(&app).unwrap()), ["http://127.0.0.1/two"]));
        });

        clients.change(&app, |map| map.remove(&app));
        assert!(clients.get(&app).is_none());
        assert_eq!(clients.len(), 0);
    }

    #[test]
    fn a_copy_is_this_threads_own_and_equal_to_the_registration() {
        let clients = Clients::default();
        let registered = client("app", "http://127.0.0.1/cb");
        register(&clients, registered.clone());
        let app = ClientId::from_static("app");
        let first = clients.get(&app).unwrap();
        let second = clients.get(&app).unwrap();
        assert_eq!(first, registered);
        assert!(first.shares_registration_with(&second), "the second lookup uses the thread's copy");
        assert!(!first.shares_registration_with(&registered), "the copy does not share the registration's count");
    }

    #[test]
    fn two_stores_never_see_each_others_clients() {
        let (one, two) = (Clients::default(), Clients::default());
        register(&one, client("app", "http://127.0.0.1/one"));
        register(&two, client("app", "http://127.0.0.1/two"));
        let app = ClientId::from_static("app");
        for _ in 0..2 {
            assert_eq!(uris(&one.get(&app).unwrap()), ["http://127.0.0.1/one"]);
            assert_eq!(uris(&two.get(&app).unwrap()), ["http://127.0.0.1/two"]);
        }
        // More stores than a thread keeps copies for: the oldest copies go, answers stay right.
        let many: Vec<Clients> = (0..MAX_STORES + 2).map(|_| Clients::default()).collect();
        for (i, store) in many.iter().enumerate() {
            let uri = format!("http://127.0.0.1/{i}");
            register(store, client("app", &uri));
        }
        for _ in 0..2 {
            for (i, store) in many.iter().enumerate() {
                assert_eq!(uris(&store.get(&app).unwrap()), [format!("http://127.0.0.1/{i}")]);
            }
        }
        COPIES.with_borrow(|copies| assert!(copies.stores.len() <= MAX_STORES));
    }

    #[test]
    fn unknown_ids_are_not_kept_and_copies_stay_bounded() {
        let clients = Clients::default();
        let ids: Vec<ClientId> =
            (0..MAX_PER_STORE + 10).map(|i| ClientId::new(format!("client-{i}")).unwrap()).collect();
        for id in &ids {
            let registration = Client::public(id.as_str()).redirect_uri("http://127.0.0.1/cb").build().unwrap();
            clients.change(id, |map| map.insert(id.clone(), registration));
        }
        for id in &ids {
            assert_eq!(clients.get(id).unwrap().id(), id);
            assert!(clients.get(&ClientId::new(format!("{}-unknown", id.as_str())).unwrap()).is_none());
        }
        COPIES.with_borrow(|copies| {
            let (_, mine) = copies.stores.iter().find(|(store, _)| *store == clients.store).unwrap();
            assert!(mine.len() <= MAX_PER_STORE);
            assert!(mine.keys().all(|id| !id.as_str().ends_with("-unknown")));
        });
    }

    #[test]
    fn stripes_spread_ids() {
        let used: std::collections::HashSet<usize> =
            (0..1000).map(|i| stripe(&ClientId::new(format!("client-{i}")).unwrap())).collect();
        assert!(used.len() > STRIPES / 2, "{used:?}");
    }
}
