//! Formats this build recognises by their signature but cannot decode yet:
//! E01/Ex01, VMDK, VHD, VHDX and qcow. Such a file opens as raw bytes and
//! the notes say which signature was found. Later decoders replace these
//! probes by registering under the same name.
//!
//! Signatures (see /work/shared/REFERENCE.md and the documents cited there):
//! - EWF (libewf "Expert Witness Compression Format"): `EVF\x09\x0d\x0a\xff\x00`
//!   at 0; EWF2 (Ex01): `EVF2\x0d\x0a\x81\x00` at 0.
//! - VMDK (libvmdk, qemu `block/vmdk.c`): `KDMV` sparse extent header,
//!   `COWD` ESX sparse header, or the text descriptor `# Disk DescriptorFile`.
//! - VHD (libvhdi, qemu `block/vpc.c`): the 512-byte `conectix` footer at the
//!   end (511 bytes on very old Virtual PC images), with a copy at offset 0
//!   on dynamic disks; its checksum is the one's complement of the byte sum.
//! - VHDX (libvhdi, qemu `block/vhdx.c`): `vhdxfile` at 0.
//! - qcow (qemu `docs/interop/qcow2.txt`): `QFI\xfb` then a big-endian u32 version.

use crate::error::Result;
use crate::probe::{Confidence, Format, FormatProbe, ProbeContext};
use crate::registry::Opened;

/// Where a signature was found and what it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    confidence: Confidence,
    offset: u64,
    detail: &'static str,
}

/// A probe that recognises a format without decoding it.
struct Recogniser {
    format: Format,
    /// Short name used in the note (`"VHDX"`).
    label: &'static str,
    find: fn(&ProbeContext) -> Option<Hit>,
}

impl FormatProbe for Recogniser {
    fn name(&self) -> &'static str {
        self.format.name
    }

    fn probe(&self, ctx: &ProbeContext) -> Option<Confidence> {
        (self.find)(ctx).map(|h| h.confidence)
    }

    fn open(&self, ctx: &ProbeContext) -> Result<Opened> {
        let mut opened = ctx.opened_raw();
        opened.detected = Some(self.format);
        if let Some(hit) = (self.find)(ctx) {
            let label = self.label;
            opened.notes.push(format!(
                "{label} signature found at offset {:#x} ({}), but this build cannot \
                 decode {label} yet: opened as raw bytes",
                hit.offset, hit.detail
            ));
        }
        Ok(opened)
    }
}

/// The recognise-only probes, in registration order.
pub(crate) fn recognisers() -> Vec<Box<dyn FormatProbe>> {
    let r = |name, description, label, find| -> Box<dyn FormatProbe> {
        Box::new(Recogniser {
            format: Format { name, description },
            label,
            find,
        })
    };
    vec![
        r(
            "e01",
            "EnCase / Expert Witness image (EWF, E01)",
            "E01",
            find_e01,
        ),
        r("ex01", "EnCase 7 image (EWF2, Ex01)", "Ex01", find_ex01),
        r("vhdx", "Hyper-V virtual disk (VHDX)", "VHDX", find_vhdx),
        r("vmdk", "VMware virtual disk (VMDK)", "VMDK", find_vmdk),
        r(
            "qcow2",
            "QEMU copy-on-write image (qcow/qcow2)",
            "qcow",
            find_qcow,
        ),
        r(
            "vhd",
            "Virtual PC / Hyper-V virtual disk (VHD)",
            "VHD",
            find_vhd,
        ),
    ]
}

const EWF_MAGIC: &[u8] = b"EVF\x09\x0d\x0a\xff\x00";
const EWF2_MAGIC: &[u8] = b"EVF2\x0d\x0a\x81\x00";
const VHDX_MAGIC: &[u8] = b"vhdxfile";
const VMDK_SPARSE_MAGIC: &[u8] = b"KDMV";
const VMDK_COWD_MAGIC: &[u8] = b"COWD";
/// seSparse const header magic: u64 0xcafebabe, little-endian.
const VMDK_SESPARSE_MAGIC: &[u8] = &platter_vdisk::vmdk::SESPARSE_MAGIC.to_le_bytes();
const VMDK_DESCRIPTOR: &[u8] = b"# Disk DescriptorFile";
const QCOW_MAGIC: &[u8] = b"QFI\xfb";
const VHD_COOKIE: &[u8] = b"conectix";
/// Size of a VHD footer.
const VHD_FOOTER_BYTES: usize = 512;
/// Offset of the checksum field in a VHD footer.
const VHD_CHECKSUM_AT: usize = 64;

fn at_start(
    ctx: &ProbeContext,
    magic: &[u8],
    confidence: Confidence,
    detail: &'static str,
) -> Option<Hit> {
    ctx.starts_with(magic).then_some(Hit {
        confidence,
        offset: 0,
        detail,
    })
}

fn find_e01(ctx: &ProbeContext) -> Option<Hit> {
    at_start(
        ctx,
        EWF_MAGIC,
        Confidence::Likely,
        "EWF segment header \"EVF\"",
    )
}

fn find_ex01(ctx: &ProbeContext) -> Option<Hit> {
    at_start(
        ctx,
        EWF2_MAGIC,
        Confidence::Likely,
        "EWF2 segment header \"EVF2\"",
    )
}

fn find_vhdx(ctx: &ProbeContext) -> Option<Hit> {
    at_start(
        ctx,
        VHDX_MAGIC,
        Confidence::Likely,
        "file type identifier \"vhdxfile\"",
    )
}

fn find_vmdk(ctx: &ProbeContext) -> Option<Hit> {
    at_start(
        ctx,
        VMDK_SPARSE_MAGIC,
        Confidence::Likely,
        "sparse extent header \"KDMV\"",
    )
    .or_else(|| {
        at_start(
            ctx,
            VMDK_COWD_MAGIC,
            Confidence::Likely,
            "ESX sparse header \"COWD\"",
        )
    })
    .or_else(|| {
        at_start(
            ctx,
            VMDK_SESPARSE_MAGIC,
            Confidence::Likely,
            "seSparse header 0xcafebabe",
        )
    })
    .or_else(|| at_start(ctx, VMDK_DESCRIPTOR, Confidence::Likely, "text descriptor"))
}

fn find_qcow(ctx: &ProbeContext) -> Option<Hit> {
    if !ctx.starts_with(QCOW_MAGIC) {
        return None;
    }
    let version = ctx
        .bytes_at(4, 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let (confidence, detail) = match version {
        Some(1) => (Confidence::Certain, "\"QFI\\xfb\", version 1 (qcow)"),
        Some(2) => (Confidence::Certain, "\"QFI\\xfb\", version 2 (qcow2)"),
        Some(3) => (Confidence::Certain, "\"QFI\\xfb\", version 3 (qcow2 v3)"),
        _ => (Confidence::Likely, "\"QFI\\xfb\", unknown version"),
    };
    Some(Hit {
        confidence,
        offset: 0,
        detail,
    })
}

/// True when a 512-byte VHD footer's checksum matches: the one's complement
/// of the sum of all its bytes, with the checksum field taken as zero.
fn vhd_checksum_ok(footer: &[u8]) -> bool {
    let Some(stored) = footer.get(VHD_CHECKSUM_AT..VHD_CHECKSUM_AT + 4) else {
        return false;
    };
    let stored = u32::from_be_bytes([stored[0], stored[1], stored[2], stored[3]]);
    let sum = footer
        .iter()
        .enumerate()
        .filter(|(i, _)| !(VHD_CHECKSUM_AT..VHD_CHECKSUM_AT + 4).contains(i))
        .fold(0u32, |acc, (_, &b)| acc.wrapping_add(u32::from(b)));
    !sum == stored
}

fn find_vhd(ctx: &ProbeContext) -> Option<Hit> {
    let len = ctx.len();
    // The footer at the very end: 512 bytes, or 511 on old Virtual PC images.
    for (size, detail_ok, detail_bad) in [
        (
            VHD_FOOTER_BYTES as u64,
            "footer \"conectix\" at the end, checksum valid",
            "footer \"conectix\" at the end, checksum wrong",
        ),
        (
            VHD_FOOTER_BYTES as u64 - 1,
            "511-byte footer \"conectix\" at the end, checksum valid",
            "511-byte footer \"conectix\" at the end, checksum wrong",
        ),
    ] {
        let Some(offset) = len.checked_sub(size) else {
            continue;
        };
        let Some(footer) = ctx.bytes_at(offset, size as usize) else {
            continue;
        };
        if footer.starts_with(VHD_COOKIE) {
            let mut full = [0u8; VHD_FOOTER_BYTES];
            full[..footer.len()].copy_from_slice(footer);
            let (confidence, detail) = if vhd_checksum_ok(&full) {
                (Confidence::Certain, detail_ok)
            } else {
                (Confidence::Likely, detail_bad)
            };
            return Some(Hit {
                confidence,
                offset,
                detail,
            });
        }
    }
    // Dynamic and differencing disks keep a copy of the footer at offset 0.
    let head = ctx.bytes_at(0, VHD_FOOTER_BYTES)?;
    head.starts_with(VHD_COOKIE).then(|| Hit {
        confidence: if vhd_checksum_ok(head) {
            Confidence::Certain
        } else {
            Confidence::Likely
        },
        offset: 0,
        detail: "footer copy \"conectix\" at the start",
    })
}

#[cfg(test)]
#[path = "signatures_tests.rs"]
mod tests;
