//! RAID levels and layouts, with md's numbers and mdadm's names.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// A RAID level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Striping without redundancy (md zones for unequal members).
    Raid0,
    /// Mirroring: every member holds the whole array.
    Raid1,
    /// Striping with a dedicated parity member (md: parity on the last).
    Raid4,
    /// Striping with rotating parity.
    Raid5,
    /// Striping with P and Q (Reed-Solomon over GF(2^8)) parity.
    Raid6,
    /// md RAID10: near, far and offset copies.
    Raid10,
    /// Concatenation (JBOD, md "linear").
    Linear,
}

impl Level {
    /// All levels.
    pub const ALL: [Level; 7] = [
        Level::Raid0,
        Level::Raid1,
        Level::Raid4,
        Level::Raid5,
        Level::Raid6,
        Level::Raid10,
        Level::Linear,
    ];

    /// The name used in text and JSON: "raid5", "linear", ….
    pub fn name(self) -> &'static str {
        match self {
            Level::Raid0 => "raid0",
            Level::Raid1 => "raid1",
            Level::Raid4 => "raid4",
            Level::Raid5 => "raid5",
            Level::Raid6 => "raid6",
            Level::Raid10 => "raid10",
            Level::Linear => "linear",
        }
    }

    /// md's level number (`linear` is −1).
    pub fn md_number(self) -> i32 {
        match self {
            Level::Raid0 => 0,
            Level::Raid1 => 1,
            Level::Raid4 => 4,
            Level::Raid5 => 5,
            Level::Raid6 => 6,
            Level::Raid10 => 10,
            Level::Linear => -1,
        }
    }

    /// The level with md number `n`.
    pub fn from_md_number(n: i32) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.md_number() == n)
    }

    /// How many members may be lost without losing data, in the best case
    /// for mirrors (RAID1: all but one; RAID10: copies − 1 guaranteed).
    pub fn parity_count(self) -> usize {
        match self {
            Level::Raid4 | Level::Raid5 => 1,
            Level::Raid6 => 2,
            _ => 0,
        }
    }
}

/// Implements the `String` conversions behind `#[serde(into = "String",
/// try_from = "String")]`, through `Display` and `FromStr`.
macro_rules! string_conversions {
    ($t:ty) => {
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.to_string()
            }
        }

        impl TryFrom<String> for $t {
            type Error = Error;
            fn try_from(s: String) -> Result<Self, Error> {
                s.parse()
            }
        }
    };
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Level {
    type Err = Error;
    /// Accepts "raid5", "5", "RAID-5", "mirror", "stripe", "jbod", "linear".
    fn from_str(s: &str) -> Result<Self, Error> {
        let t: String = s
            .trim()
            .to_ascii_lowercase()
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect();
        let t = t.strip_prefix("raid").unwrap_or(&t);
        Ok(match t {
            "0" | "stripe" | "striped" => Level::Raid0,
            "1" | "mirror" => Level::Raid1,
            "4" => Level::Raid4,
            "5" => Level::Raid5,
            "6" => Level::Raid6,
            "10" => Level::Raid10,
            "linear" | "jbod" | "concat" | "span" => Level::Linear,
            _ => {
                return Err(Error::Parse {
                    what: "RAID level",
                    text: s.to_string(),
                });
            }
        })
    }
}

/// Parity placement of RAID4/5/6: md's `ALGORITHM_*` constants
/// (`drivers/md/raid5.h`), numbered as md stores them in the superblock's
/// `layout` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum ParityLayout {
    /// 0: parity rotates from the last member down; data restarts at member 0.
    LeftAsymmetric,
    /// 1: parity rotates from member 0 up; data restarts at member 0.
    RightAsymmetric,
    /// 2 (md default): parity from the last member down; data continues after parity.
    LeftSymmetric,
    /// 3: parity from member 0 up; data continues after parity.
    RightSymmetric,
    /// 4: parity on the first member(s).
    ParityFirst,
    /// 5: parity on the last member(s) (RAID4).
    ParityLast,
    /// 8: DDF PRL=6 RLQ=1 "rotating parity 0 with data restart" (RAID6 only).
    DdfZeroRestart,
    /// 9: DDF PRL=6 RLQ=2 "rotating parity N with data restart" (RAID6 only).
    DdfNRestart,
    /// 10: DDF PRL=6 RLQ=3 "rotating parity N with data continuation" (RAID6 only).
    DdfNContinue,
    /// 16: left-asymmetric on the first n−1 members, Q on the last (RAID6 only).
    LeftAsymmetric6,
    /// 17: right-asymmetric on the first n−1 members, Q on the last (RAID6 only).
    RightAsymmetric6,
    /// 18: left-symmetric on the first n−1 members, Q on the last (RAID6 only).
    LeftSymmetric6,
    /// 19: right-symmetric on the first n−1 members, Q on the last (RAID6 only).
    RightSymmetric6,
    /// 20: parity-first on the first n−1 members, Q on the last (RAID6 only).
    ParityFirst6,
}

impl ParityLayout {
    /// Every layout.
    pub const ALL: [ParityLayout; 14] = [
        ParityLayout::LeftAsymmetric,
        ParityLayout::RightAsymmetric,
        ParityLayout::LeftSymmetric,
        ParityLayout::RightSymmetric,
        ParityLayout::ParityFirst,
        ParityLayout::ParityLast,
        ParityLayout::DdfZeroRestart,
        ParityLayout::DdfNRestart,
        ParityLayout::DdfNContinue,
        ParityLayout::LeftAsymmetric6,
        ParityLayout::RightAsymmetric6,
        ParityLayout::LeftSymmetric6,
        ParityLayout::RightSymmetric6,
        ParityLayout::ParityFirst6,
    ];

    /// The six layouts valid for RAID5 (and RAID6).
    pub const RAID5: [ParityLayout; 6] = [
        ParityLayout::LeftAsymmetric,
        ParityLayout::RightAsymmetric,
        ParityLayout::LeftSymmetric,
        ParityLayout::RightSymmetric,
        ParityLayout::ParityFirst,
        ParityLayout::ParityLast,
    ];

    /// md's `ALGORITHM_*` number.
    pub fn md_number(self) -> u32 {
        match self {
            ParityLayout::LeftAsymmetric => 0,
            ParityLayout::RightAsymmetric => 1,
            ParityLayout::LeftSymmetric => 2,
            ParityLayout::RightSymmetric => 3,
            ParityLayout::ParityFirst => 4,
            ParityLayout::ParityLast => 5,
            ParityLayout::DdfZeroRestart => 8,
            ParityLayout::DdfNRestart => 9,
            ParityLayout::DdfNContinue => 10,
            ParityLayout::LeftAsymmetric6 => 16,
            ParityLayout::RightAsymmetric6 => 17,
            ParityLayout::LeftSymmetric6 => 18,
            ParityLayout::RightSymmetric6 => 19,
            ParityLayout::ParityFirst6 => 20,
        }
    }

    /// The layout with md number `n`.
    pub fn from_md_number(n: u32) -> Option<ParityLayout> {
        ParityLayout::ALL.into_iter().find(|l| l.md_number() == n)
    }

    /// mdadm's name ("left-symmetric", "ddf-N-restart", …).
    pub fn name(self) -> &'static str {
        match self {
            ParityLayout::LeftAsymmetric => "left-asymmetric",
            ParityLayout::RightAsymmetric => "right-asymmetric",
            ParityLayout::LeftSymmetric => "left-symmetric",
            ParityLayout::RightSymmetric => "right-symmetric",
            ParityLayout::ParityFirst => "parity-first",
            ParityLayout::ParityLast => "parity-last",
            ParityLayout::DdfZeroRestart => "ddf-zero-restart",
            ParityLayout::DdfNRestart => "ddf-N-restart",
            ParityLayout::DdfNContinue => "ddf-N-continue",
            ParityLayout::LeftAsymmetric6 => "left-asymmetric-6",
            ParityLayout::RightAsymmetric6 => "right-asymmetric-6",
            ParityLayout::LeftSymmetric6 => "left-symmetric-6",
            ParityLayout::RightSymmetric6 => "right-symmetric-6",
            ParityLayout::ParityFirst6 => "parity-first-6",
        }
    }

    /// True for the layouts valid on RAID5 (the first six).
    pub fn valid_for_raid5(self) -> bool {
        self.md_number() <= 5
    }

    /// True for the DDF layouts, whose Q coefficients follow the physical
    /// member index (kernel `raid6_d0`/`raid6_idx_to_slot` with `ddf_layout`).
    pub fn is_ddf(self) -> bool {
        matches!(
            self,
            ParityLayout::DdfZeroRestart | ParityLayout::DdfNRestart | ParityLayout::DdfNContinue
        )
    }
}

impl fmt::Display for ParityLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

string_conversions!(ParityLayout);

impl FromStr for ParityLayout {
    type Err = Error;
    /// mdadm's names (case-insensitive), the short forms `la ra ls rs`,
    /// `raid4` for parity-last, and md numbers.
    fn from_str(s: &str) -> Result<Self, Error> {
        let t = s.trim().to_ascii_lowercase();
        if let Ok(n) = t.parse::<u32>() {
            if let Some(l) = ParityLayout::from_md_number(n) {
                return Ok(l);
            }
        }
        let alias = match t.as_str() {
            "la" => Some(ParityLayout::LeftAsymmetric),
            "ra" => Some(ParityLayout::RightAsymmetric),
            "ls" | "default" => Some(ParityLayout::LeftSymmetric),
            "rs" => Some(ParityLayout::RightSymmetric),
            "raid4" => Some(ParityLayout::ParityLast),
            _ => None,
        };
        alias
            .or_else(|| {
                ParityLayout::ALL
                    .into_iter()
                    .find(|l| l.name().eq_ignore_ascii_case(&t))
            })
            .ok_or_else(|| Error::Parse {
                what: "RAID4/5/6 layout",
                text: s.to_string(),
            })
    }
}

/// md RAID10 layout: `near | far << 8 | offset << 16 | far_sets << 17`
/// (kernel `drivers/md/raid10.c` `setup_geo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Raid10Layout {
    /// Copies on consecutive members (1 = none).
    pub near: u8,
    /// Copies further down the members (1 = none).
    pub far: u8,
    /// "Offset" mode: the far copies are one chunk apart instead of
    /// `member_size / far` apart.
    pub offset: bool,
    /// Bit 17: far copies rotate within sets of `members / far` devices
    /// (md's "improved" far layout).
    #[serde(default)]
    pub far_sets: bool,
}

impl Raid10Layout {
    /// The md layout word.
    pub fn md_word(self) -> u32 {
        u32::from(self.near)
            | u32::from(self.far) << 8
            | u32::from(self.offset) << 16
            | u32::from(self.far_sets) << 17
    }

    /// Decodes an md layout word; `None` when bits above 17 are set or a
    /// copy count is 0 (kernel `setup_geo` refuses both).
    pub fn from_md_word(w: u32) -> Option<Raid10Layout> {
        if w >> 18 != 0 || w & 0xff == 0 || (w >> 8) & 0xff == 0 {
            return None;
        }
        Some(Raid10Layout {
            near: (w & 0xff) as u8,
            far: ((w >> 8) & 0xff) as u8,
            offset: w & (1 << 16) != 0,
            far_sets: w & (1 << 17) != 0,
        })
    }

    /// Total copies of each chunk.
    pub fn copies(self) -> usize {
        usize::from(self.near) * usize::from(self.far)
    }
}

impl fmt::Display for Raid10Layout {
    /// mdadm's spelling: `n2`, `f2`, `o2`, or `n2f2` for a mix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.offset { 'o' } else { 'f' };
        match (self.near, self.far) {
            (n, 1) => write!(f, "n{n}")?,
            (1, m) => write!(f, "{kind}{m}")?,
            (n, m) => write!(f, "n{n}{kind}{m}")?,
        }
        if self.far_sets {
            f.write_str("+sets")?;
        }
        Ok(())
    }
}

impl FromStr for Raid10Layout {
    type Err = Error;
    /// `n2`, `f2`, `o3`, `n2f2`, or an md layout word such as `0x102`/`258`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let err = || Error::Parse {
            what: "RAID10 layout",
            text: s.to_string(),
        };
        let t = s.trim().to_ascii_lowercase();
        let (t, far_sets) = match t.strip_suffix("+sets") {
            Some(r) => (r.to_string(), true),
            None => (t, false),
        };
        if let Some(h) = t.strip_prefix("0x") {
            return u32::from_str_radix(h, 16)
                .ok()
                .and_then(Raid10Layout::from_md_word)
                .ok_or_else(err);
        }
        if let Ok(n) = t.parse::<u32>() {
            return Raid10Layout::from_md_word(n).ok_or_else(err);
        }
        let mut l = Raid10Layout {
            near: 1,
            far: 1,
            offset: false,
            far_sets,
        };
        let mut rest = t.as_str();
        let mut seen = false;
        while let Some(c) = rest.chars().next() {
            let digits: String = rest[1..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            let v: u8 = digits.parse().map_err(|_| err())?;
            match c {
                'n' => l.near = v,
                'f' => l.far = v,
                'o' => {
                    l.far = v;
                    l.offset = true;
                }
                _ => return Err(err()),
            }
            seen = true;
            rest = &rest[1 + digits.len()..];
        }
        if !seen {
            return Err(err());
        }
        Ok(l)
    }
}

/// How md RAID0 maps chunks to members in zones after the first (kernel
/// `raid0.c`, `RAID0_ORIG_LAYOUT` = 1 and `RAID0_ALT_MULTIZONE_LAYOUT` = 2).
/// Arrays whose members are all the same size have one zone and read the
/// same either way.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Raid0Layout {
    /// Linux before 3.14: the member within a zone is picked by the
    /// array-wide chunk number.
    #[default]
    Original,
    /// Linux 3.14 to 5.3: picked by the chunk number within the zone.
    Alternate,
}

impl Raid0Layout {
    /// md's layout number (1 or 2).
    pub fn md_number(self) -> u32 {
        match self {
            Raid0Layout::Original => 1,
            Raid0Layout::Alternate => 2,
        }
    }
}

/// The layout part of a [`Geometry`](super::Geometry), by family.
///
/// Serialised as text: `"left-symmetric"`, `"n2"`, `"original"`, or
/// `"none"` for RAID1 and linear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Layout {
    /// No layout choice (RAID1, linear).
    None,
    /// RAID4/5/6 parity placement.
    Parity(ParityLayout),
    /// RAID10 copies.
    Raid10(Raid10Layout),
    /// RAID0 multi-zone mapping.
    Raid0(Raid0Layout),
}

impl Layout {
    /// md's default layout for a level: left-symmetric for RAID5/6,
    /// parity-last for RAID4, `n2` for RAID10, original for RAID0.
    pub fn default_for(level: Level) -> Layout {
        match level {
            Level::Raid4 => Layout::Parity(ParityLayout::ParityLast),
            Level::Raid5 | Level::Raid6 => Layout::Parity(ParityLayout::LeftSymmetric),
            Level::Raid10 => Layout::Raid10(Raid10Layout {
                near: 2,
                far: 1,
                offset: false,
                far_sets: false,
            }),
            Level::Raid0 => Layout::Raid0(Raid0Layout::Original),
            Level::Raid1 | Level::Linear => Layout::None,
        }
    }

    /// Parses `s` as a layout of `level` (so "2" means left-symmetric for
    /// RAID5 but near=2 for RAID10).
    pub fn parse_for(level: Level, s: &str) -> Result<Layout, Error> {
        let err = || Error::Parse {
            what: "layout for this level",
            text: s.to_string(),
        };
        match level {
            Level::Raid4 | Level::Raid5 | Level::Raid6 => s.parse().map(Layout::Parity),
            Level::Raid10 => s.parse().map(Layout::Raid10),
            Level::Raid0 => match s.trim().to_ascii_lowercase().as_str() {
                "original" | "1" | "0" | "default" => Ok(Layout::Raid0(Raid0Layout::Original)),
                "alternate" | "2" => Ok(Layout::Raid0(Raid0Layout::Alternate)),
                _ => Err(err()),
            },
            Level::Raid1 | Level::Linear => match s.trim().to_ascii_lowercase().as_str() {
                "none" | "" | "0" | "default" => Ok(Layout::None),
                _ => Err(err()),
            },
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layout::None => f.write_str("none"),
            Layout::Parity(p) => p.fmt(f),
            Layout::Raid10(r) => r.fmt(f),
            Layout::Raid0(Raid0Layout::Original) => f.write_str("original"),
            Layout::Raid0(Raid0Layout::Alternate) => f.write_str("alternate"),
        }
    }
}

string_conversions!(Layout);

impl FromStr for Layout {
    type Err = Error;
    /// Parses a layout name of any family; names never collide. Bare md
    /// numbers are ambiguous across families: use [`Layout::parse_for`].
    fn from_str(s: &str) -> Result<Self, Error> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "none" => return Ok(Layout::None),
            "original" => return Ok(Layout::Raid0(Raid0Layout::Original)),
            "alternate" => return Ok(Layout::Raid0(Raid0Layout::Alternate)),
            _ => {}
        }
        if t.parse::<u32>().is_err() && !t.starts_with("0x") {
            if let Ok(p) = t.parse::<ParityLayout>() {
                return Ok(Layout::Parity(p));
            }
            if let Ok(r) = t.parse::<Raid10Layout>() {
                return Ok(Layout::Raid10(r));
            }
        }
        Err(Error::Parse {
            what: "layout",
            text: s.to_string(),
        })
    }
}
