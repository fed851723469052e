//! Sampling reader: aligned windows at spread-out offsets, read at the same
//! offset from every member, with all-zero windows dropped.

use platter_core::Source;

use crate::error::{Error, Result};

/// Bytes at the start of every member always read whole.
pub const HEAD_BYTES: u64 = 4 << 20;

/// Bytes in one analysed sector.
pub const SECTOR: usize = 512;

/// How much to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleOptions {
    /// Size of one sample window in bytes (a multiple of 512, 4 KiB … 4 MiB).
    pub window_bytes: u64,
    /// Upper bound on the bytes read from each member. The reader takes
    /// `max(member/20, min_budget_bytes)`, capped by this and the member size.
    pub max_budget_bytes: u64,
    /// Floor of the per-member budget, so small members are read whole.
    pub min_budget_bytes: u64,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            window_bytes: 256 << 10,
            max_budget_bytes: 16 << 20,
            min_budget_bytes: 16 << 20,
        }
    }
}

/// One window: the same member byte range read from every member.
#[derive(Debug, Clone)]
pub struct SampleWindow {
    /// Member byte offset where the window starts.
    pub offset: u64,
    /// One buffer per member, all the same length (a multiple of 512).
    pub data: Vec<Vec<u8>>,
}

impl SampleWindow {
    /// Number of 512-byte sectors in the window.
    pub fn sectors(&self) -> usize {
        self.data.first().map_or(0, |d| d.len() / SECTOR)
    }

    /// Sector `i` of member `m`.
    pub fn sector(&self, m: usize, i: usize) -> &[u8] {
        &self.data[m][i * SECTOR..(i + 1) * SECTOR]
    }
}

/// The samples of all members.
#[derive(Debug, Clone)]
pub struct Samples {
    /// Non-zero windows, by increasing offset.
    pub windows: Vec<SampleWindow>,
    /// Bytes read from each member.
    pub bytes_read_per_member: u64,
    /// The common length sampled (the smallest member).
    pub common_bytes: u64,
}

impl Samples {
    /// The XOR of the first `n` members of every window that is not
    /// zero there, with its offset: a missing RAID5 member's content.
    pub fn xors(&self, n: usize) -> Vec<(u64, Vec<u8>)> {
        self.windows
            .iter()
            .filter_map(|w| {
                let mut x = w.data.first()?.clone();
                for d in w.data.get(1..n)? {
                    for (a, b) in x.iter_mut().zip(d) {
                        *a ^= b;
                    }
                }
                (!crate::bytes::is_zero(&x)).then_some((w.offset, x))
            })
            .collect()
    }
}

/// Reads the sample windows of `members` (all at least 2).
pub fn read_samples(members: &[&dyn Source], opts: &SampleOptions) -> Result<Samples> {
    let w = opts.window_bytes;
    if !(4096..=(4 << 20)).contains(&w) || w % SECTOR as u64 != 0 {
        return Err(Error::InvalidOption {
            name: "window_bytes",
            value: w,
        });
    }
    let common = members.iter().map(|m| m.len()).min().unwrap_or(0);
    let common = common - common % SECTOR as u64;
    let budget = (common / 20)
        .max(opts.min_budget_bytes)
        .min(opts.max_budget_bytes)
        .min(common);
    let total_windows = common.div_ceil(w);
    let wanted = budget.div_ceil(w).max(1).min(total_windows);
    let mut offsets: Vec<u64> = if wanted >= total_windows {
        (0..total_windows).map(|i| i * w).collect()
    } else {
        // Spread evenly; first and last window included.
        (0..wanted)
            .map(|i| {
                let idx = if wanted == 1 {
                    0
                } else {
                    i * (total_windows - 1) / (wanted - 1)
                };
                idx * w
            })
            .collect()
    };
    // File-system metadata concentrates near the start (boot sectors,
    // superblocks, inode tables, the MFT of small volumes): read the
    // first HEAD_BYTES whole as well.
    let head = (HEAD_BYTES / w).min(total_windows);
    offsets.extend((0..head).map(|i| i * w));
    offsets.sort_unstable();
    offsets.dedup();
    let mut windows = Vec::new();
    let mut read = 0u64;
    for off in offsets {
        let len = w.min(common - off);
        if len == 0 {
            continue;
        }
        read += len;
        if let Some(win) = read_window(members, off, len)? {
            windows.push(win);
        }
    }
    Ok(Samples {
        windows,
        bytes_read_per_member: read,
        common_bytes: common,
    })
}

/// Reads more windows at `offsets` (window-aligned, inside the common
/// length, not yet sampled), keeping the windows sorted by offset.
/// Returns the bytes read per member.
pub fn read_more(
    members: &[&dyn Source],
    samples: &mut Samples,
    offsets: &[u64],
    window_bytes: u64,
) -> Result<u64> {
    let mut read = 0u64;
    for &off in offsets {
        if off >= samples.common_bytes || samples.windows.iter().any(|w| w.offset == off) {
            continue;
        }
        let len = window_bytes.min(samples.common_bytes - off);
        read += len;
        if let Some(win) = read_window(members, off, len)? {
            let at = samples.windows.partition_point(|w| w.offset < off);
            samples.windows.insert(at, win);
        }
    }
    samples.bytes_read_per_member += read;
    Ok(read)
}

/// The window of `len` bytes (at most 4 MiB) at `off` on every member, or
/// `None` when it is zero on all of them.
fn read_window(members: &[&dyn Source], off: u64, len: u64) -> Result<Option<SampleWindow>> {
    // `len` ≤ window_bytes ≤ 4 MiB, so the cast is lossless.
    let len = len as usize;
    let mut data = Vec::with_capacity(members.len());
    for (i, m) in members.iter().enumerate() {
        let mut buf = vec![0u8; len];
        m.read_exact_at(&mut buf, off)
            .map_err(|source| Error::Read {
                member: i,
                name: m.name().to_string(),
                offset: off,
                source,
            })?;
        data.push(buf);
    }
    Ok(data
        .iter()
        .any(|d| !crate::bytes::is_zero(d))
        .then_some(SampleWindow { offset: off, data }))
}
