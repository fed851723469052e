//! The first steps of planning, shared by md and DDF: take each member's
//! metadata of one kind, pick the array most members claim, leave out the
//! foreign and the untrustworthy, and find the freshest member.

use super::select::{self, exclude};
use super::{AssembleError, Excluded, ExclusionReason, no_metadata, plan_codes};
use crate::error::Result;
use crate::metadata::{DdfMetadata, ExamineReport, Finding, MdSuperblock, MemberReport};

/// One kind of per-member RAID metadata (md superblock, DDF container).
pub(super) trait ArrayMetadata {
    /// The array key as messages name it ("md array UUID").
    const KEY: &'static str;
    /// What the other members do with the key ("claim").
    const KEY_VERB: &'static str;
    /// The metadata as messages name it ("superblock").
    const WHAT: &'static str;
    /// Why a member holding the other kind of metadata is refused.
    const OTHER_KIND: &'static str;
    /// Why the plan fails when no member's metadata is usable.
    const NONE_USABLE: &'static str;

    /// This kind of metadata of member `m`, if it has any.
    fn of(m: &MemberReport) -> Option<&Self>;
    /// The key naming the array (UUID, container GUID).
    fn key(&self) -> &str;
    /// Update counter and time in seconds: the larger, the fresher.
    fn freshness(&self) -> (u64, u64);
    /// Fails when the metadata cannot be trusted for planning.
    fn check_usable(&self, name: &str) -> Result<()>;
}

impl ArrayMetadata for MdSuperblock {
    const KEY: &'static str = "md array UUID";
    const KEY_VERB: &'static str = "claim";
    const WHAT: &'static str = "superblock";
    const OTHER_KIND: &'static str =
        "holds DDF metadata while the other members hold md superblocks";
    const NONE_USABLE: &'static str = "no usable md superblock";

    fn of(m: &MemberReport) -> Option<&Self> {
        m.md.as_ref()
    }
    fn key(&self) -> &str {
        &self.array_uuid
    }
    fn freshness(&self) -> (u64, u64) {
        (self.events, self.utime_secs)
    }
    fn check_usable(&self, name: &str) -> Result<()> {
        MdSuperblock::check_usable(self, name)
    }
}

impl ArrayMetadata for DdfMetadata {
    const KEY: &'static str = "DDF container GUID";
    const KEY_VERB: &'static str = "carry";
    const WHAT: &'static str = "DDF metadata";
    const OTHER_KIND: &'static str =
        "holds an md superblock while the other members hold DDF metadata";
    const NONE_USABLE: &'static str = "no usable DDF metadata";

    fn of(m: &MemberReport) -> Option<&Self> {
        m.ddf.as_ref()
    }
    fn key(&self) -> &str {
        &self.header_guid
    }
    fn freshness(&self) -> (u64, u64) {
        (u64::from(self.sequence), self.timestamp_secs)
    }
    fn check_usable(&self, name: &str) -> Result<()> {
        DdfMetadata::check_usable(self, name)
    }
}

/// The members of the chosen array and what was said about the others.
pub(super) struct Grouped<'a, M> {
    /// Every member's metadata, by image index.
    pub metas: Vec<&'a M>,
    /// The array key most members claim.
    pub key: String,
    /// Images claiming `key` whose metadata is usable.
    pub group: Vec<usize>,
    /// The freshest image of `group`.
    pub fresh: usize,
    /// Members left out so far.
    pub excluded: Vec<Excluded>,
    /// The examine findings plus those about left-out members.
    pub findings: Vec<Finding>,
}

/// Groups the members of `report` by their metadata of kind `M`.
///
/// Fails when a member lacks it, when the array key is tied, or when no
/// member of the chosen array has usable metadata (then with the first
/// member's own reason).
pub(super) fn group<'a, M: ArrayMetadata>(
    names: &[&str],
    report: &'a ExamineReport,
) -> Result<Grouped<'a, M>> {
    let mut metas: Vec<&M> = Vec::with_capacity(report.members.len());
    for (i, m) in report.members.iter().enumerate() {
        match M::of(m) {
            Some(d) => metas.push(d),
            None if m.md.is_some() || m.ddf.is_some() => {
                return Err(AssembleError::NoMetadata {
                    name: m.name.clone(),
                    detail: M::OTHER_KIND.into(),
                }
                .into());
            }
            None => return Err(no_metadata(report, i).into()),
        }
    }
    let mut findings = report.findings.clone();
    let mut excluded = Vec::new();

    // Which array: the key most members claim.
    let keys: Vec<&str> = metas.iter().map(|d| d.key()).collect();
    let key = select::majority(names, &keys)?;
    for (i, d) in metas.iter().enumerate() {
        if d.key() != key {
            let message = format!(
                "{}: {} {} is not {key}, which the other members {}; left out",
                names[i],
                M::KEY,
                d.key(),
                M::KEY_VERB
            );
            findings.push(Finding {
                member: Some(i),
                code: plan_codes::FOREIGN_EXCLUDED,
                message: message.clone(),
            });
            excluded.push(Excluded {
                image: i,
                name: names[i].to_string(),
                reason: ExclusionReason::ForeignArray {
                    uuid: d.key().to_string(),
                    array_uuid: key.clone(),
                },
                message,
            });
        }
    }
    let mut group: Vec<usize> = (0..metas.len())
        .filter(|&i| metas[i].key() == key)
        .collect();
    // Metadata that cannot be trusted is left out; the rest decide.
    let first_in_group = group[0];
    group.retain(|&i| {
        let Err(e) = metas[i].check_usable(names[i]) else {
            return true;
        };
        exclude(
            &mut excluded,
            &mut findings,
            i,
            names[i],
            ExclusionReason::InvalidMetadata {
                detail: e.to_string(),
            },
            format!(
                "{}: its {} cannot be trusted ({e}); left out",
                names[i],
                M::WHAT
            ),
        );
        false
    });
    let Some(&fresh) = group.iter().max_by_key(|&&i| {
        let (counter, secs) = metas[i].freshness();
        (counter, secs, std::cmp::Reverse(i))
    }) else {
        // Every member of the array was untrustworthy: say why for the first.
        return Err(
            match metas[first_in_group].check_usable(names[first_in_group]) {
                Err(e) => e,
                Ok(()) => AssembleError::NoMetadata {
                    name: names[first_in_group].to_string(),
                    detail: M::NONE_USABLE.into(),
                }
                .into(),
            },
        );
    };
    Ok(Grouped {
        metas,
        key,
        group,
        fresh,
        excluded,
        findings,
    })
}
