//! [`MultiHasher`]: one thread per algorithm, fed through bounded channels.

use std::fmt;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::{self, JoinHandle};

use crate::alg::{AlgHasher, Digest, HashAlg};
use crate::block::Block;

/// How many blocks may wait in each hasher's (and the writer's) channel.
///
/// With 1 MiB blocks this bounds the memory of a pipeline to a few MiB per
/// consumer whatever the size of the source.
pub const CHANNEL_DEPTH: usize = 4;

/// What a hasher thread receives.
enum Msg {
    /// The next block of the stream.
    Data(Block),
    /// Send back the digest of everything so far, and go on.
    Snapshot(SyncSender<Digest>),
}

enum Worker {
    /// The usual case: a thread owning the hasher, fed by a bounded channel.
    Thread {
        alg: HashAlg,
        tx: SyncSender<Msg>,
        handle: JoinHandle<Digest>,
    },
    /// Fallback when the OS refuses another thread: hash on the caller's thread.
    Inline(AlgHasher),
}

/// Hashes one stream with several algorithms at once, each on its own thread.
///
/// MD5 cannot be split and runs at about 540 MB/s per core, while SHA-1 and
/// SHA-256 use SHA-NI and run about three times faster: on separate threads
/// the set runs at the pace of the slowest algorithm instead of the sum.
/// Blocks are shared ([`Block`] is reference-counted), never copied per
/// hasher. [`update`](Self::update) blocks when a hasher falls more than
/// [`CHANNEL_DEPTH`] blocks behind, so memory stays bounded.
///
/// ```
/// use platter_hash::{Block, HashAlg, MultiHasher};
/// let mut h = MultiHasher::new(&[HashAlg::Md5, HashAlg::Sha256]);
/// h.update(Block::from(b"ab".to_vec()));
/// h.update(Block::from(b"c".to_vec()));
/// let d = h.finish();
/// assert_eq!(d[0].hex, "900150983cd24fb0d6963f7d28e17f72");
/// assert_eq!(d[1].alg, HashAlg::Sha256);
/// ```
pub struct MultiHasher {
    workers: Vec<Worker>,
}

impl MultiHasher {
    /// Starts one hasher thread per entry of `algs` (duplicates included),
    /// each with a channel of [`CHANNEL_DEPTH`] blocks.
    pub fn new(algs: &[HashAlg]) -> Self {
        let workers = algs
            .iter()
            .map(|&alg| {
                let (tx, rx) = sync_channel::<Msg>(CHANNEL_DEPTH);
                let spawned =
                    thread::Builder::new()
                        .name(format!("platter-{alg}"))
                        .spawn(move || {
                            let mut h = AlgHasher::new(alg);
                            for msg in rx {
                                match msg {
                                    Msg::Data(block) => h.update(&block),
                                    Msg::Snapshot(reply) => {
                                        let _ = reply.send(h.clone().finish());
                                    }
                                }
                            }
                            h.finish()
                        });
                match spawned {
                    Ok(handle) => Worker::Thread { alg, tx, handle },
                    Err(_) => Worker::Inline(AlgHasher::new(alg)),
                }
            })
            .collect();
        MultiHasher { workers }
    }

    /// Feeds the next block of the stream to every hasher. Blocks while a
    /// hasher's channel is full.
    pub fn update(&mut self, block: Block) {
        for worker in &mut self.workers {
            match worker {
                Worker::Thread { tx, .. } => {
                    // A send fails only if the thread is gone, which means
                    // it panicked; `finish` re-raises that panic.
                    let _ = tx.send(Msg::Data(block.clone()));
                }
                Worker::Inline(h) => h.update(&block),
            }
        }
    }

    /// The digests of the stream so far, in the order of the algorithms,
    /// without ending it: later [`update`](Self::update)s continue the
    /// same stream. Waits until every hasher has caught up.
    ///
    /// ```
    /// use platter_hash::{Block, HashAlg, MultiHasher, hash_bytes};
    /// let mut h = MultiHasher::new(&[HashAlg::Md5]);
    /// h.update(Block::from(b"ab".to_vec()));
    /// assert_eq!(h.snapshot(), hash_bytes(&[HashAlg::Md5], b"ab"));
    /// h.update(Block::from(b"c".to_vec()));
    /// assert_eq!(h.finish(), hash_bytes(&[HashAlg::Md5], b"abc"));
    /// ```
    pub fn snapshot(&mut self) -> Vec<Digest> {
        let pending: Vec<_> = self
            .workers
            .iter_mut()
            .map(|worker| match worker {
                Worker::Thread { tx, .. } => {
                    let (reply, rx) = sync_channel::<Digest>(1);
                    let _ = tx.send(Msg::Snapshot(reply));
                    Err(rx)
                }
                Worker::Inline(h) => Ok(h.clone().finish()),
            })
            .collect();
        pending
            .into_iter()
            .zip(&self.workers)
            .map(|(p, w)| match p {
                Ok(d) => d,
                // A closed reply means the thread panicked: `finish`
                // re-raises that; report an empty digest meanwhile.
                Err(rx) => rx.recv().unwrap_or_else(|_| Digest {
                    alg: match w {
                        Worker::Thread { alg, .. } => *alg,
                        Worker::Inline(_) => HashAlg::Md5,
                    },
                    hex: String::new(),
                }),
            })
            .collect()
    }

    /// Closes the channels, waits for every thread and returns the digests in
    /// the order of the algorithms given to [`new`](Self::new).
    pub fn finish(self) -> Vec<Digest> {
        self.workers
            .into_iter()
            .map(|worker| match worker {
                Worker::Thread { tx, handle, .. } => {
                    drop(tx);
                    handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                }
                Worker::Inline(h) => h.finish(),
            })
            .collect()
    }
}

impl fmt::Debug for MultiHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let algs: Vec<String> = self
            .workers
            .iter()
            .map(|w| match w {
                Worker::Thread { alg, .. } => alg.to_string(),
                Worker::Inline(_) => "inline".to_string(),
            })
            .collect();
        f.debug_struct("MultiHasher").field("algs", &algs).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alg::hash_bytes;
    use crate::test_data::pseudo_random;

    fn hash_in_pieces(algs: &[HashAlg], data: &[u8], piece: usize) -> Vec<Digest> {
        let mut h = MultiHasher::new(algs);
        for chunk in data.chunks(piece) {
            h.update(Block::from(chunk));
        }
        h.finish()
    }

    #[test]
    fn one_algorithm_alone() {
        let data = pseudo_random(100_003, 7);
        for alg in HashAlg::ALL {
            assert_eq!(
                hash_in_pieces(&[alg], &data, 4093),
                hash_bytes(&[alg], &data)
            );
        }
    }

    #[test]
    fn all_three_in_parallel_in_order() {
        let data = pseudo_random(300_001, 11);
        let algs = [HashAlg::Sha256, HashAlg::Md5, HashAlg::Sha1];
        let d = hash_in_pieces(&algs, &data, 997);
        assert_eq!(d, hash_bytes(&algs, &data));
        assert_eq!(d.iter().map(|d| d.alg).collect::<Vec<_>>(), algs);
    }

    #[test]
    fn block_boundaries_do_not_matter() {
        let data = pseudo_random(5000, 3);
        let want = hash_bytes(&HashAlg::ALL, &data);
        for piece in [1, 63, 64, 65, 4999, 5000, 9000] {
            assert_eq!(
                hash_in_pieces(&HashAlg::ALL, &data, piece),
                want,
                "piece {piece}"
            );
        }
    }

    #[test]
    fn no_blocks_and_empty_blocks() {
        let want = hash_bytes(&HashAlg::ALL, b"");
        assert_eq!(MultiHasher::new(&HashAlg::ALL).finish(), want);
        let mut h = MultiHasher::new(&HashAlg::ALL);
        h.update(Block::from(Vec::new()));
        assert_eq!(h.finish(), want);
    }

    #[test]
    fn no_algorithms_gives_no_digests() {
        let mut h = MultiHasher::new(&[]);
        h.update(Block::from(b"abc".to_vec()));
        assert!(h.finish().is_empty());
    }
}
