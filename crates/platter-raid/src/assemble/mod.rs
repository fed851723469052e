//! Assembly from metadata: the md superblocks or DDF records on the
//! members say which array they form, where each member sits and which
//! members are out of date; [`plan_from_metadata`] turns that into a
//! [`Geometry`] and [`assemble_from_metadata`] opens it as a [`RaidArray`].
//!
//! Members may be given in any order: each is placed by its own metadata
//! (md: the role `dev_roles[dev_number]`; DDF: its physical disk reference
//! in the virtual disk's configuration record). What md itself would
//! refuse or leave out is handled the same way, and every decision is
//! written into the [`MetadataPlan`]:
//!
//! - **Stale members** (md events more than one behind the freshest member,
//!   as the kernel's `super_1_validate` and mdadm `Assemble.c` allow one;
//!   a lower DDF sequence number) are left out while the others still
//!   suffice, and kept (with a loud finding) only for roles nobody else
//!   can fill.
//! - **Members of another array** (a different md UUID or DDF container
//!   GUID) are left out when they are the minority, and refused otherwise.
//! - **Spares, faulty and journal devices** are left out.
//! - **Two members claiming one role** (the same image given twice, two
//!   copies of one disk) are refused, naming both.
//! - **Missing roles** are allowed while the level's redundancy covers
//!   them (for RAID10: while every chunk keeps a copy); otherwise the error
//!   names the roles.
//! - **A reshape in progress** is refused: the array has two geometries.
//!
//! ```
//! use platter_core::{MemSource, Source};
//! use platter_raid::assemble::{AssembleError, plan_from_metadata};
//! use platter_raid::Error;
//!
//! // Blank members carry no metadata: the plan says so, naming the member.
//! let blank = MemSource::new("sdb.img", vec![0u8; 1 << 20]);
//! let err = plan_from_metadata(&[("sdb.img", &blank as &dyn Source)]).unwrap_err();
//! assert!(matches!(err, Error::Assemble(AssembleError::NoMetadata { .. })));
//! assert!(err.to_string().contains("sdb.img"));
//! ```

mod ddf;
mod group;
mod md;
mod select;

#[cfg(test)]
mod tests;

use std::fmt;

use platter_core::{SharedSource, Source};

use crate::array::RaidArray;
use crate::error::Result;
use crate::geometry::{Geometry, Level};
use crate::metadata::{ExamineReport, Finding, examine, finding_codes};

/// Which metadata a plan was read from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "format", rename_all = "snake_case")]
pub enum MetadataKind {
    /// Linux md superblocks.
    Md {
        /// "0.90", "1.0", "1.1" or "1.2".
        version: String,
    },
    /// SNIA DDF (hardware RAID controllers, mdadm `--metadata=ddf`).
    Ddf {
        /// DDF revision ("01.02.00", "02.00.00", …).
        revision: String,
    },
}

impl fmt::Display for MetadataKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetadataKind::Md { version } => write!(f, "md {version}"),
            MetadataKind::Ddf { revision } => write!(f, "DDF {revision}"),
        }
    }
}

/// A member the plan uses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlanMember {
    /// Index of the member in the list given (the image index the
    /// geometry's slots name).
    pub image: usize,
    /// Its name.
    pub name: String,
    /// The slot (md role, DDF position) it fills.
    pub slot: usize,
    /// Where the array data starts on it, in bytes.
    pub data_offset_bytes: u64,
    /// Bytes of array data it holds from there (md component size, DDF
    /// block count).
    pub size_bytes: u64,
    /// md event count.
    pub events: Option<u64>,
    /// DDF header sequence number.
    pub sequence: Option<u32>,
    /// True when the member lags the others but is used anyway, because
    /// without it the array could not be assembled: its data may be old.
    pub kept_stale: bool,
}

/// Why a member was left out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExclusionReason {
    /// It dropped out of the array earlier: its update counter lags.
    Stale {
        /// "events" (md) or "sequence" (DDF).
        counter: &'static str,
        /// Its counter.
        value: u64,
        /// The freshest member's counter.
        freshest: u64,
        /// Its last metadata update (RFC 3339).
        updated: String,
        /// The freshest member's last update (RFC 3339).
        freshest_updated: String,
    },
    /// md: it was being rebuilt and holds valid data only up to here.
    Recovering {
        /// `recovery_offset`, bytes past the data offset.
        recovery_offset_bytes: u64,
    },
    /// DDF: the freshest metadata marks this disk failed or missing.
    Failed {
        /// The physical disk state, as text.
        state: String,
    },
    /// It belongs to another array (a minority of the members given).
    ForeignArray {
        /// Its array UUID (md) or container GUID (DDF).
        uuid: String,
        /// The array assembled.
        array_uuid: String,
    },
    /// A spare, faulty, journal or empty slot: not an active member.
    NotActive {
        /// Its role, as text ("spare", "faulty", …).
        role: String,
    },
    /// Its role number is beyond the array's member count.
    RoleOutOfRange {
        /// The role.
        role: u32,
        /// The array's member count.
        raid_disks: u32,
    },
    /// Its metadata describes another geometry than the freshest member's.
    GeometryMismatch {
        /// What differs.
        detail: String,
    },
    /// Its metadata cannot be trusted (error-level anomaly).
    InvalidMetadata {
        /// The anomaly.
        detail: String,
    },
    /// DDF: its physical disk is not part of the virtual disk assembled.
    NotInVirtualDisk {
        /// Its physical disk reference number.
        refnum: u32,
    },
    /// DDF: the member carries no physical disk data naming which disk it is.
    Unidentified,
}

/// A member left out of the assembly.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Excluded {
    /// Index of the member in the list given.
    pub image: usize,
    /// Its name.
    pub name: String,
    /// Why.
    pub reason: ExclusionReason,
    /// A self-contained message naming the member.
    pub message: String,
}

/// Codes of the [`Finding`]s a plan adds to those of [`examine`].
pub mod plan_codes {
    /// A stale member was left out.
    pub const STALE_EXCLUDED: &str = "stale_excluded";
    /// A stale member was kept because the array needs it: its data may be old.
    pub const STALE_KEPT: &str = "stale_kept";
    /// A member one event behind was accepted, as md accepts it.
    pub const EVENTS_MARGIN: &str = "events_margin";
    /// A member of another array was left out.
    pub const FOREIGN_EXCLUDED: &str = "foreign_excluded";
    /// A member was left out for its role or metadata.
    pub const MEMBER_EXCLUDED: &str = "member_excluded";
    /// Roles without a member: the array runs degraded.
    pub const DEGRADED: &str = "degraded";
    /// md RAID0 with several zones and no recorded layout.
    pub const RAID0_LAYOUT_UNKNOWN: &str = "raid0_layout_unknown";
    /// The array size the metadata records differs from what the members hold.
    pub const ARRAY_SIZE: &str = "array_size";
    /// The DDF container holds other virtual disks than the one assembled.
    pub const OTHER_VIRTUAL_DISKS: &str = "other_virtual_disks";
    /// A DDF field that was not applied (a rotate-parity count…).
    pub const DDF_IGNORED: &str = "ddf_ignored";
}

/// Everything assembly from metadata decided. Serialises to JSON for
/// `--json` output and recipes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MetadataPlan {
    /// The metadata format.
    pub source: MetadataKind,
    /// md array UUID, or the DDF virtual disk GUID.
    pub array_uuid: String,
    /// md array name (`host:name`), or the DDF virtual disk name.
    pub array_name: Option<String>,
    /// The geometry: slots name the members by their index in the list given.
    pub geometry: Geometry,
    /// The array size in bytes.
    pub array_bytes: u64,
    /// The members used, by slot.
    pub members: Vec<PlanMember>,
    /// Slots without a member (rebuilt from redundancy).
    pub missing_slots: Vec<usize>,
    /// Members left out, with the reason.
    pub excluded: Vec<Excluded>,
    /// What [`examine`] found, then what planning found ([`plan_codes`]).
    pub findings: Vec<Finding>,
    /// md: the freshest event count.
    pub events: Option<u64>,
    /// DDF: the freshest header sequence number.
    pub sequence: Option<u32>,
    /// The freshest metadata update (RFC 3339).
    pub updated: String,
}

impl MetadataPlan {
    /// A name for the assembled array: `md:NAME` or `ddf:NAME`, falling back
    /// to the UUID.
    pub fn display_name(&self) -> String {
        let prefix = match self.source {
            MetadataKind::Md { .. } => "md",
            MetadataKind::Ddf { .. } => "ddf",
        };
        let id = self
            .array_name
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(&self.array_uuid);
        format!("{prefix}:{id}")
    }
}

/// Choices the metadata alone cannot make.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// DDF: the virtual disk to assemble, by GUID (hex) or name, when the
    /// container holds several. Default: the one most given members belong to.
    pub virtual_disk: Option<String>,
}

/// A group of members claiming one array, for [`AssembleError::MixedArrays`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ArrayGroup {
    /// md array UUID or DDF container GUID.
    pub uuid: String,
    /// Names of the members claiming it.
    pub members: Vec<String>,
}

/// Why the members cannot be assembled from their metadata.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssembleError {
    /// No members were given.
    #[error("no members given")]
    NoMembers,
    /// A member has no usable metadata, so it cannot be placed.
    #[error(
        "{name}: {detail}; it cannot be placed from metadata: leave it out, or give the geometry explicitly"
    )]
    NoMetadata {
        /// The member.
        name: String,
        /// What was found instead.
        detail: String,
    },
    /// The members claim different arrays and none has a majority.
    #[error(
        "the members belong to {} different arrays ({}); give the members of one array",
        .groups.len(),
        groups_text(.groups)
    )]
    MixedArrays {
        /// Each array and its members.
        groups: Vec<ArrayGroup>,
    },
    /// Two members claim the same role.
    #[error(
        "{first} and {second} both claim role {role} of array {array}: the same image given twice, or two copies of one disk; give only one of them"
    )]
    DuplicateRole {
        /// The array.
        array: String,
        /// The role (slot).
        role: usize,
        /// The first member claiming it.
        first: String,
        /// The second.
        second: String,
    },
    /// More roles lack a member than the level can rebuild.
    #[error(
        "array {array} ({level}, {raid_disks} members): no usable member for role(s) {}, more than {level} can rebuild{}",
        list(.missing),
        excluded_text(.excluded)
    )]
    TooManyMissing {
        /// The array.
        array: String,
        /// Its level.
        level: Level,
        /// Its member count.
        raid_disks: usize,
        /// Roles without a member.
        missing: Vec<usize>,
        /// Members left out, with why ("m2: stale (events 37 < 42)").
        excluded: Vec<String>,
    },
    /// An md reshape was interrupted: part of the array has the old
    /// geometry, part the new one.
    #[error(
        "{name}: reshape in progress at array byte {position_bytes:#x} ({detail}): not supported yet"
    )]
    ReshapeInProgress {
        /// The member whose superblock says so.
        name: String,
        /// How far the reshape got, in array bytes.
        position_bytes: u64,
        /// From what to what.
        detail: String,
    },
    /// Metadata describing something the engine does not assemble.
    #[error("{name}: {what}: not supported")]
    Unsupported {
        /// The member whose metadata says so.
        name: String,
        /// What.
        what: String,
    },
    /// The DDF virtual disk asked for is not in the container.
    #[error("no DDF virtual disk {wanted:?}; the container holds {}", available.join(", "))]
    NoSuchVirtualDisk {
        /// The GUID or name asked for.
        wanted: String,
        /// The virtual disks present ("GUID (name)").
        available: Vec<String>,
    },
}

fn list(v: &[usize]) -> String {
    let s: Vec<String> = v.iter().map(|n| n.to_string()).collect();
    s.join(", ")
}

fn groups_text(groups: &[ArrayGroup]) -> String {
    let g: Vec<String> = groups
        .iter()
        .map(|g| format!("{}: {}", g.uuid, g.members.join(", ")))
        .collect();
    g.join("; ")
}

fn excluded_text(excluded: &[String]) -> String {
    if excluded.is_empty() {
        String::new()
    } else {
        format!("; left out: {}", excluded.join("; "))
    }
}

/// Reads the metadata of every member and plans the assembly. See the
/// [module docs](self). The members are named by their position in
/// `members` in the returned geometry.
pub fn plan_from_metadata(members: &[(&str, &dyn Source)]) -> Result<MetadataPlan> {
    plan_from_metadata_with(members, &PlanOptions::default())
}

/// [`plan_from_metadata`] with [`PlanOptions`].
pub fn plan_from_metadata_with(
    members: &[(&str, &dyn Source)],
    options: &PlanOptions,
) -> Result<MetadataPlan> {
    if members.is_empty() {
        return Err(AssembleError::NoMembers.into());
    }
    let report = examine(members);
    let md_count = report.members.iter().filter(|m| m.md.is_some()).count();
    let ddf_count = report.members.iter().filter(|m| m.ddf.is_some()).count();
    if md_count == 0 && ddf_count == 0 {
        return Err(no_metadata(&report, 0).into());
    }
    if md_count >= ddf_count {
        md::plan(members, report)
    } else {
        ddf::plan(members, report, options)
    }
}

/// Plans the assembly ([`plan_from_metadata`]) and opens the array. The
/// array is named after the metadata ([`MetadataPlan::display_name`]).
pub fn assemble_from_metadata(
    members: Vec<(String, SharedSource)>,
) -> Result<(RaidArray, MetadataPlan)> {
    assemble_from_metadata_with(members, &PlanOptions::default())
}

/// [`assemble_from_metadata`] with [`PlanOptions`].
pub fn assemble_from_metadata_with(
    members: Vec<(String, SharedSource)>,
    options: &PlanOptions,
) -> Result<(RaidArray, MetadataPlan)> {
    let refs: Vec<(&str, &dyn Source)> = members
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_ref() as &dyn Source))
        .collect();
    let plan = plan_from_metadata_with(&refs, options)?;
    let sources = members.into_iter().map(|(_, s)| Some(s)).collect();
    let array = RaidArray::new(plan.geometry.clone(), sources)?.with_name(plan.display_name());
    Ok((array, plan))
}

/// The error for member `index`, which holds neither md nor DDF metadata
/// (or whose reading failed: the examine finding says why).
fn no_metadata(report: &ExamineReport, index: usize) -> AssembleError {
    let m = &report.members[index];
    let read_error = report
        .findings
        .iter()
        .find(|f| {
            f.member == Some(index)
                && matches!(
                    f.code,
                    finding_codes::READ_ERROR | finding_codes::INVALID_METADATA
                )
        })
        .map(|f| f.message.clone());
    AssembleError::NoMetadata {
        name: m.name.clone(),
        detail: read_error.unwrap_or_else(|| "no md superblock and no DDF anchor".into()),
    }
}
