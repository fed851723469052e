//! DDF RAID levels (PRL, RLQ, SRL) translated to md level and layout
//! numbers, so one geometry engine serves both.
//!
//! The translation follows mdadm `super-ddf.c` (`layout_ddf2md`), whose
//! comments tie each DDF qualifier to the md algorithm with the same data
//! and parity placement (md algorithm numbers from Linux
//! `drivers/md/raid5.h`):
//!
//! | DDF PRL         | RLQ                 | md level | md layout |
//! |-----------------|---------------------|----------|-----------|
//! | 0x00 RAID0      | 0 simple            | 0        | 0 |
//! | 0x01 RAID1      | 0 (2 disks) / 1 (3) | 1        | 0 |
//! | 0x04 RAID4      | 1 parity last (N)   | 4        | 5 parity-last |
//! | 0x04 RAID4      | 0 parity first      | 5        | 4 parity-first (md RAID4 keeps parity last) |
//! | 0x05 RAID5      | 0 rotating, 0-restart | 5      | 1 right-asymmetric |
//! | 0x05 RAID5      | 2 rotating, N-restart | 5      | 0 left-asymmetric |
//! | 0x05 RAID5      | 3 rotating, N-continue | 5     | 2 left-symmetric |
//! | 0x06 RAID6      | 1 rotating, 0-restart | 6      | 8 ddf-zero-restart |
//! | 0x06 RAID6      | 2 rotating, N-restart | 6      | 9 ddf-N-restart |
//! | 0x06 RAID6      | 3 rotating, N-continue | 6     | 10 ddf-N-continue |
//! | 0x11 RAID1E     | 0 adjacent          | 10       | 0x102 (near 2) |
//! | 0x11 RAID1E     | 1 offset            | 10       | 0x201 (far 2, as mdadm maps it) |
//! | 0x1F concat     | –                   | -1       | 0 |
//! | RAID1 × secondary striped/spanned | 0 / 1 | 10  | 0x102 / 0x103, disks × secondary count |
//!
//! Note the RAID6 qualifier 1 is *not* the RAID5 qualifier 0 (mdadm:
//! "raid6 different from raid5 here!!!"). Everything else (RAID3, RAID5E,
//! RAID5EE, JBOD, RAID50-style secondary levels) has no md equivalent and
//! yields `None`; the raw PRL/RLQ/SRL stay available in the config record.
//! The RAID1E offset mapping is mdadm's; the DDF name suggests md's
//! offset layout (0x10201) instead, which has not been verified against a
//! controller.

/// The md level, layout and member count a DDF virtual disk corresponds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MdEquivalent {
    /// md level (-1 linear, 0, 1, 4, 5, 6, 10).
    pub level: i32,
    /// md layout word.
    pub layout: u32,
    /// Members of the md array (primary count × secondary count for RAID10).
    pub raid_disks: u32,
}

// Primary RAID levels (SNIA DDF 2.0 table "Primary RAID Level").
const PRL_RAID0: u8 = 0x00;
const PRL_RAID1: u8 = 0x01;
const PRL_RAID4: u8 = 0x04;
const PRL_RAID5: u8 = 0x05;
const PRL_RAID6: u8 = 0x06;
const PRL_RAID1E: u8 = 0x11;
const PRL_CONCAT: u8 = 0x1F;

// Secondary RAID levels.
const SRL_STRIPED: u8 = 0x00;
const SRL_SPANNED: u8 = 0x03;

/// Name of a DDF primary RAID level, for display.
pub(crate) fn prl_name(prl: u8) -> &'static str {
    match prl {
        0x00 => "RAID0",
        0x01 => "RAID1",
        0x03 => "RAID3",
        0x04 => "RAID4",
        0x05 => "RAID5",
        0x06 => "RAID6",
        0x07 => "MDF RAID",
        0x0F => "JBOD",
        0x11 => "RAID1E",
        0x15 => "RAID5E",
        0x1F => "CONCAT",
        0x25 => "RAID5EE",
        0x35 => "RAID5R",
        _ => "unknown",
    }
}

/// Translates a DDF configuration's levels to md terms (see the module
/// table), or `None` when md has no equivalent.
///
/// ```
/// use platter_raid::metadata::{ddf_to_md, MdEquivalent};
/// // RAID5, rotating parity N with data continuation = md left-symmetric.
/// assert_eq!(
///     ddf_to_md(0x05, 0x03, 0xff, 4, 1),
///     Some(MdEquivalent { level: 5, layout: 2, raid_disks: 4 })
/// );
/// ```
pub fn ddf_to_md(
    prl: u8,
    rlq: u8,
    srl: u8,
    primary_elements: u16,
    secondary_elements: u8,
) -> Option<MdEquivalent> {
    let n = u32::from(primary_elements);
    if n == 0 {
        return None;
    }
    let eq = |level, layout| {
        Some(MdEquivalent {
            level,
            layout,
            raid_disks: n,
        })
    };
    if secondary_elements > 1 {
        // Only mirrors striped or spanned over several BVDs map to md RAID10.
        if prl != PRL_RAID1 || (srl != SRL_STRIPED && srl != SRL_SPANNED) {
            return None;
        }
        let layout = match (n, rlq) {
            (2, 0) => 0x102,
            (3, 1) => 0x103,
            _ => return None,
        };
        return Some(MdEquivalent {
            level: 10,
            layout,
            raid_disks: n.checked_mul(u32::from(secondary_elements))?,
        });
    }
    match (prl, rlq) {
        (PRL_CONCAT, _) => eq(-1, 0),
        (PRL_RAID0, 0) => eq(0, 0),
        (PRL_RAID1, 0) if n == 2 => eq(1, 0),
        (PRL_RAID1, 1) if n == 3 => eq(1, 0),
        (PRL_RAID1E, 0) => eq(10, 0x102),
        (PRL_RAID1E, 1) => eq(10, 0x201),
        (PRL_RAID4, 1) => eq(4, 5),
        (PRL_RAID4, 0) => eq(5, 4),
        (PRL_RAID5, 0) => eq(5, 1),
        (PRL_RAID5, 2) => eq(5, 0),
        (PRL_RAID5, 3) => eq(5, 2),
        (PRL_RAID6, 1) => eq(6, 8),
        (PRL_RAID6, 2) => eq(6, 9),
        (PRL_RAID6, 3) => eq(6, 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(level: i32, layout: u32, raid_disks: u32) -> Option<MdEquivalent> {
        Some(MdEquivalent {
            level,
            layout,
            raid_disks,
        })
    }

    #[test]
    fn raid5_and_raid6_qualifiers_follow_mdadm() {
        assert_eq!(ddf_to_md(0x05, 0, 0xff, 4, 1), md(5, 1, 4));
        assert_eq!(ddf_to_md(0x05, 2, 0xff, 4, 1), md(5, 0, 4));
        assert_eq!(ddf_to_md(0x05, 3, 0xff, 4, 1), md(5, 2, 4));
        assert_eq!(ddf_to_md(0x05, 1, 0xff, 4, 1), None);
        assert_eq!(ddf_to_md(0x06, 1, 0xff, 5, 1), md(6, 8, 5));
        assert_eq!(ddf_to_md(0x06, 2, 0xff, 5, 1), md(6, 9, 5));
        assert_eq!(ddf_to_md(0x06, 3, 0xff, 5, 1), md(6, 10, 5));
        assert_eq!(ddf_to_md(0x06, 0, 0xff, 5, 1), None);
    }

    #[test]
    fn mirrors_and_secondary_levels() {
        assert_eq!(ddf_to_md(0x01, 0, 0xff, 2, 1), md(1, 0, 2));
        assert_eq!(ddf_to_md(0x01, 0, 0xff, 3, 1), None);
        assert_eq!(ddf_to_md(0x01, 0, 0x00, 2, 3), md(10, 0x102, 6));
        assert_eq!(ddf_to_md(0x01, 1, 0x03, 3, 2), md(10, 0x103, 6));
        // RAID50 (RAID5 BVDs striped) has no md equivalent.
        assert_eq!(ddf_to_md(0x05, 3, 0x00, 3, 2), None);
        assert_eq!(ddf_to_md(0x11, 0, 0xff, 3, 1), md(10, 0x102, 3));
        assert_eq!(ddf_to_md(0x1f, 0, 0xff, 3, 1), md(-1, 0, 3));
        assert_eq!(ddf_to_md(0x04, 1, 0xff, 3, 1), md(4, 5, 3));
        assert_eq!(ddf_to_md(0x04, 0, 0xff, 3, 1), md(5, 4, 3));
        assert_eq!(ddf_to_md(0x15, 0, 0xff, 3, 1), None);
        assert_eq!(ddf_to_md(0x00, 0, 0xff, 0, 1), None);
    }
}
