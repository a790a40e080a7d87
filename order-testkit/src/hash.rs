//! A fast hasher for the fakes' maps. The std default (SipHash) resists
//! collision attacks, which test doubles do not face, at a cost the service
//! benchmark measured: a fifth of an in-memory placement went to hashing
//! ids and keys, rehashing included.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A map hashed with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A set hashed with [`FastHasher`].
pub(crate) type FastSet<T> = HashSet<T, BuildHasherDefault<FastHasher>>;

/// The Fx hash (Firefox, rustc), one rotate, xor and multiply per word, with
/// a finalizer that spreads the result over every bit.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FastHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        // A multiply only carries bits upward, and ids that differ in their
        // last bytes (sequential UUIDs) would leave the low bits, which pick
        // a bucket, all alike: MurmurHash3's finalizer mixes every bit into
        // every other.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(bytes: &[u8]) -> u64 {
        let mut hasher = FastHasher::default();
        hasher.write(bytes);
        hasher.finish()
    }

    #[test]
    fn keys_that_differ_in_any_byte_hash_differently() {
        let key = b"0190-0000-0000-7000-8000-000000000001:1:4807:authorize";
        let mut seen = HashSet::new();
        assert!(seen.insert(hash(key)));
        for i in 0..key.len() {
            let mut other = *key;
            other[i] ^= 1;
            assert!(seen.insert(hash(&other)), "byte {i}");
        }
    }

    #[test]
    fn sequential_ids_spread_over_the_low_bits() {
        // UUIDs from a counter differ only in their last bytes.
        let buckets: HashSet<u64> = (0..1024u128)
            .map(|n| hash(&((0x0190_u128 << 112) | n).to_be_bytes()) & 1023)
            .collect();
        assert!(buckets.len() > 600, "{} of 1024 buckets", buckets.len());
    }

    #[test]
    fn a_map_finds_what_it_holds() {
        let mut map: FastMap<String, usize> = FastMap::default();
        for n in 0..10_000 {
            map.insert(format!("key-{n}"), n);
        }
        assert!((0..10_000).all(|n| map.get(&format!("key-{n}")) == Some(&n)));
    }
}
