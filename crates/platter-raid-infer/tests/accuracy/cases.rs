//! Random cases: content, geometry and conditions, all drawn from the run
//! seed and the case index.

use super::rng::Rng;
use super::striper::{MdLevel, Spec};

/// Which content to build (the cache key, see `content`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContentKey {
    /// `ext4`, `vfat`, `ntfs` (optionally `+mbr` / `+gpt`), `raw-random`,
    /// `raw-text`.
    pub kind: String,
    /// Content bytes (a power of two, MiB).
    pub bytes: u64,
    /// Fill percentage.
    pub fill: u32,
    /// Which of a few images of the same kind, size and fill.
    pub variant: u32,
}

impl ContentKey {
    /// File-name stem in the cache.
    pub fn stem(&self) -> String {
        format!(
            "{}-{}M-{}pct-v{}",
            self.kind.replace('+', "_"),
            self.bytes >> 20,
            self.fill,
            self.variant
        )
    }

    /// The content class: the file system (or raw kind), without the
    /// partition table.
    pub fn class(&self) -> &str {
        self.kind.split('+').next().unwrap_or(&self.kind)
    }
}

/// One case of the harness.
#[derive(Debug, Clone)]
pub struct Case {
    /// Index in the run.
    pub index: usize,
    /// The geometry the striper writes.
    pub spec: Spec,
    /// The content.
    pub content: ContentKey,
    /// Data offset of each slot, in bytes.
    pub offsets: Vec<u64>,
    /// Slots whose images are not given to inference.
    pub missing: Vec<usize>,
    /// The slot whose image holds an earlier state of the content.
    pub stale: Option<usize>,
    /// `images[i]` is the slot whose image is given i-th to inference
    /// (present slots, shuffled).
    pub images: Vec<usize>,
    /// File name of each image given (random, telling nothing).
    pub names: Vec<String>,
}

impl Case {
    /// The condition part of the class: `plain`, or `offsets`, `missing`,
    /// `stale` joined with `+`.
    pub fn condition(&self) -> String {
        let mut c = Vec::new();
        if self.offsets.iter().any(|o| *o != self.offsets[0]) {
            c.push("offsets-differ");
        } else if self.offsets[0] != 0 {
            c.push("offset");
        }
        if !self.missing.is_empty() {
            c.push("missing");
        }
        if self.stale.is_some() {
            c.push("stale");
        }
        if self.spec.delay.is_some() {
            c.push("delayed");
        }
        if c.is_empty() {
            "plain".to_string()
        } else {
            c.join("+")
        }
    }

    /// A one-line description of the truth.
    pub fn describe(&self) -> String {
        let s = &self.spec;
        let layout = match s.level {
            MdLevel::Raid4 | MdLevel::Raid5 | MdLevel::Raid6 => format!(" algo {}", s.algo),
            MdLevel::Raid10 => {
                let (n, f, o) = s.r10;
                match (n, f) {
                    (n, 1) => format!(" n{n}"),
                    (_, f) => format!(" {}{f}", if o { 'o' } else { 'f' }),
                }
            }
            _ => String::new(),
        };
        let delay = s
            .delay
            .map_or(String::new(), |(d, f)| format!(" delay {d}/{f}"));
        // Slot → image index as given to inference.
        let slots: Vec<String> = (0..s.n)
            .map(|slot| match self.images.iter().position(|&x| x == slot) {
                Some(i) => i.to_string(),
                None => "-".to_string(),
            })
            .collect();
        format!(
            "{}{layout}{delay} chunk {} n {} member {}K slots [{}] offsets {:?} missing {:?} \
             stale {:?} content {}",
            s.level.name(),
            s.chunk,
            s.n,
            s.member_bytes >> 10,
            slots.join(" "),
            self.offsets,
            self.missing,
            self.stale,
            self.content.stem()
        )
    }
}

/// A condition the CI subset asks for (the full run draws them at random).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Whatever the draw gives.
    Any,
    /// No offsets, missing or stale members, no delayed parity.
    Plain,
    /// Members missing (RAID4/5/6).
    Missing,
    /// A stale member (redundant levels).
    Stale,
    /// Delayed parity (RAID5).
    Delayed,
    /// Data offsets differing between members.
    Offsets,
}

/// Run parameters.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Largest member data area, MiB.
    pub max_member_mib: u64,
    /// Smallest content, MiB.
    pub min_content_mib: u64,
    /// Largest member count.
    pub max_members: usize,
    /// File-system kinds available (mkfs tools present).
    pub fs_kinds: Vec<&'static str>,
}

const MIB: u64 = 1 << 20;

/// Draws case `index` of run `seed`; `level` and `want` force the level
/// and a condition (the CI subset walks a fixed list so every level and
/// condition is covered).
pub fn generate(
    seed: u64,
    index: usize,
    profile: &Profile,
    level: Option<MdLevel>,
    want: Want,
) -> Case {
    let mut r = Rng::new(seed, index as u64);
    let levels = [
        MdLevel::Raid0,
        MdLevel::Raid1,
        MdLevel::Raid4,
        MdLevel::Raid5,
        MdLevel::Raid6,
        MdLevel::Raid10,
        MdLevel::Linear,
    ];
    let level = level.unwrap_or_else(|| levels[r.weighted(&[12, 8, 8, 30, 22, 12, 8])]);
    let maxn = profile.max_members;
    // Small arrays are the common case; up to `max_members` now and then.
    let mut n_in = |lo: usize, typical: usize| -> usize {
        let hi = if r.chance(20) {
            maxn
        } else {
            typical.min(maxn)
        };
        r.range(lo as u64, hi.max(lo) as u64) as usize
    };
    let n = match level {
        MdLevel::Raid0 | MdLevel::Linear => n_in(2, 6),
        MdLevel::Raid1 => n_in(2, 3),
        MdLevel::Raid4 | MdLevel::Raid5 => n_in(3, 6),
        MdLevel::Raid6 => n_in(4, 7),
        MdLevel::Raid10 => n_in(2, 6),
    };
    let mut spec = Spec {
        level,
        algo: 0,
        r10: (1, 1, false),
        chunk: 0,
        n,
        delay: None,
        member_bytes: 0,
        linear_sizes: Vec::new(),
    };
    match level {
        MdLevel::Raid4 => spec.algo = if r.chance(80) { 5 } else { 4 },
        MdLevel::Raid5 => {
            spec.algo = r.below(6) as u32;
            if (r.chance(15) && want == Want::Any) || want == Want::Delayed {
                let d = *r.pick(&[2u64, 4, 8, 16]);
                let f = if r.chance(60) { d } else { r.range(1, d) };
                spec.delay = Some((d, f));
            }
        }
        MdLevel::Raid6 => spec.algo = *r.pick(&[0u32, 1, 2, 3, 4, 5, 8, 9, 10, 16, 17, 18, 19, 20]),
        MdLevel::Raid10 => {
            let copies = if n >= 3 && r.chance(25) { 3 } else { 2 }.min(n as u64);
            spec.r10 = match r.below(3) {
                0 => (copies, 1, false),
                1 => (1, copies, false),
                _ => (1, copies, true),
            };
        }
        _ => {}
    }
    // Chunk: powers of two from 512 B to 4 MiB, mostly 4–512 KiB; now and
    // then three times a power of two, as some controllers use.
    let shift = match r.weighted(&[10, 70, 20]) {
        0 => r.range(9, 11),
        1 => r.range(12, 19),
        _ => r.range(20, 22),
    };
    let mut chunk = 1u64 << shift;
    if r.chance(8) && shift >= 11 {
        chunk = 3 << (shift - 2);
    }
    let data_disks = match level {
        MdLevel::Raid0 | MdLevel::Linear => n as u64,
        MdLevel::Raid1 => 1,
        MdLevel::Raid4 | MdLevel::Raid5 => n as u64 - 1,
        MdLevel::Raid6 => n as u64 - 2,
        MdLevel::Raid10 => (n as u64 / (spec.r10.0 * spec.r10.1)).max(1),
    };
    // Content: a power of two MiB, so that cached images are reused.
    let max_content = (profile.max_member_mib * data_disks).max(profile.min_content_mib);
    let mut sizes = Vec::new();
    let mut s = profile.min_content_mib.next_power_of_two();
    while s <= max_content {
        sizes.push(s);
        s *= 2;
    }
    let content_bytes = *r.pick(&sizes) * MIB;
    let kinds: Vec<&str> = {
        let mut k = profile.fs_kinds.clone();
        k.extend(["raw-random", "raw-text"]);
        k
    };
    let mut weights: Vec<u64> = profile.fs_kinds.iter().map(|_| 24).collect();
    weights.extend([8, 8]);
    let base = kinds[r.weighted(&weights)];
    let kind = if base.starts_with("raw") || !r.chance(25) {
        base.to_string()
    } else {
        format!("{base}+{}", if r.chance(50) { "mbr" } else { "gpt" })
    };
    let content = ContentKey {
        kind,
        bytes: content_bytes,
        fill: *r.pick(&[10u32, 30, 50, 70, 90]),
        variant: r.below(2) as u32,
    };
    // Members: big enough for the content; at least 16 chunks each.
    let per_member = match level {
        MdLevel::Raid10 => (content_bytes * spec.r10.0 * spec.r10.1).div_ceil(n as u64),
        _ => content_bytes.div_ceil(data_disks),
    };
    while chunk > 512 && chunk * 16 > per_member {
        // Halve, staying a multiple of 512 (1536 becomes 512, not 768).
        chunk = if (chunk / 2) % 512 == 0 {
            chunk / 2
        } else {
            512
        };
    }
    spec.chunk = chunk;
    spec.member_bytes = match level {
        MdLevel::Raid10 => {
            let (near, far, _) = spec.r10;
            // Chunks per member: a multiple of `far`, enough for the content.
            let mut mc = per_member.div_ceil(chunk).div_ceil(far) * far;
            while mc / far * n as u64 / near * chunk < content_bytes {
                mc += far;
            }
            mc * chunk
        }
        MdLevel::Raid1 => content_bytes,
        _ => per_member.div_ceil(chunk) * chunk,
    };
    if level == MdLevel::Linear {
        // Members of different sizes, 64 KiB multiples, covering the content.
        let unit = 64 * 1024;
        let mut left = content_bytes.div_ceil(unit);
        for i in 0..n {
            let share = if i + 1 == n {
                left
            } else {
                let even = left / (n - i) as u64;
                r.range((even / 2).max(1), (even * 3 / 2).max(1))
                    .min(left - (n - i - 1) as u64)
            };
            spec.linear_sizes.push(share.max(1) * unit);
            left -= share.min(left);
        }
        spec.member_bytes = *spec.linear_sizes.iter().max().unwrap();
    }
    // Data offsets: none, the same on every member, or differing.
    let choices = [4096u64, 65536, 131072, 1 << 20, 2048 * 512, 34 * 512];
    let draw = match want {
        Want::Any => r.weighted(&[55, 30, 15]),
        Want::Offsets => 2,
        _ => 0,
    };
    let offsets = match draw {
        0 => vec![0; n],
        1 => vec![*r.pick(&choices); n],
        _ => (0..n)
            .map(|_| if r.chance(30) { 0 } else { *r.pick(&choices) })
            .collect(),
    };
    // Missing and stale members, within the redundancy.
    let redundancy = spec.redundancy();
    let mut missing = Vec::new();
    let parity = matches!(level, MdLevel::Raid4 | MdLevel::Raid5 | MdLevel::Raid6);
    if parity && ((r.chance(25) && want == Want::Any) || want == Want::Missing) {
        let count = if level == MdLevel::Raid6 {
            r.range(1, 2)
        } else {
            1
        };
        let mut slots: Vec<usize> = (0..n).collect();
        r.shuffle(&mut slots);
        missing = slots[..count as usize].to_vec();
        missing.sort_unstable();
    }
    let stale_wanted = (r.chance(20) && want == Want::Any) || want == Want::Stale;
    let stale = (redundancy > missing.len() && stale_wanted).then(|| {
        loop {
            let s = r.below(n as u64) as usize;
            if !missing.contains(&s) {
                break s;
            }
        }
    });
    let mut images: Vec<usize> = (0..n).filter(|s| !missing.contains(s)).collect();
    r.shuffle(&mut images);
    let names = images
        .iter()
        .map(|_| format!("disk-{:08x}.img", r.next() as u32))
        .collect();
    Case {
        index,
        spec,
        content,
        offsets,
        missing,
        stale,
        images,
        names,
    }
}
