//! Probes that decode virtual disks (VMDK, VHD, VHDX) through
//! `platter-vdisk`, replacing the recognisers of the same names.
//!
//! Each opens the probe context's base source (so a VHD inside a split set
//! or an assembled array decodes too) with the format's `open_source`, and
//! fills [`Opened::metadata`] from the disk's report. Every file of a
//! snapshot chain is added to [`Opened::segments`], so outputs can never
//! be written onto a parent.

use platter_vdisk::{VdiskInfo, VdiskOptions, VirtualDisk};

use crate::error::{Error, Result};
use crate::metadata::ImageMetadata;
use crate::probe::{Confidence, Format, FormatProbe, ProbeContext};
use crate::registry::Opened;

/// Size of a VHD footer.
const VHD_FOOTER_BYTES: u64 = 512;

/// Which virtual disk format a probe decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Vmdk,
    Vhd,
    Vhdx,
}

/// A decoding probe for one virtual disk format.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VdiskProbe {
    kind: Kind,
}

/// The three probes, VHDX first (its signature is the most specific).
pub(crate) fn probes() -> Vec<Box<dyn FormatProbe>> {
    [Kind::Vhdx, Kind::Vmdk, Kind::Vhd]
        .into_iter()
        .map(|kind| Box::new(VdiskProbe { kind }) as Box<dyn FormatProbe>)
        .collect()
}

impl VdiskProbe {
    fn format(self) -> Format {
        match self.kind {
            Kind::Vmdk => Format {
                name: "vmdk",
                description: "VMware virtual disk (VMDK)",
            },
            Kind::Vhd => Format {
                name: "vhd",
                description: "Virtual PC / Hyper-V virtual disk (VHD)",
            },
            Kind::Vhdx => Format {
                name: "vhdx",
                description: "Hyper-V virtual disk (VHDX)",
            },
        }
    }
}

/// True when `footer` (512 bytes) is a VHD footer with a valid checksum.
fn vhd_footer_ok(footer: &[u8]) -> bool {
    footer.starts_with(b"conectix")
        && footer.len() >= 68
        && u32::from_be_bytes([footer[64], footer[65], footer[66], footer[67]])
            == platter_vdisk::vhd::footer::vhd_checksum(footer, 64)
}

fn probe_vhd(ctx: &ProbeContext) -> Option<Confidence> {
    let len = ctx.len();
    for size in [VHD_FOOTER_BYTES, VHD_FOOTER_BYTES - 1] {
        let Some(at) = len.checked_sub(size) else {
            continue;
        };
        if let Some(f) = ctx
            .bytes_at(at, size as usize)
            .filter(|f| f.starts_with(b"conectix"))
        {
            let mut full = [0u8; 512];
            full[..f.len()].copy_from_slice(f);
            return Some(if vhd_footer_ok(&full) {
                Confidence::Certain
            } else {
                Confidence::Likely
            });
        }
    }
    let head = ctx.bytes_at(0, VHD_FOOTER_BYTES as usize)?;
    head.starts_with(b"conectix").then(|| {
        if vhd_footer_ok(head) {
            Confidence::Certain
        } else {
            Confidence::Likely
        }
    })
}

impl FormatProbe for VdiskProbe {
    fn name(&self) -> &'static str {
        self.format().name
    }

    fn probe(&self, ctx: &ProbeContext) -> Option<Confidence> {
        match self.kind {
            Kind::Vhdx => ctx.starts_with(b"vhdxfile").then_some(Confidence::Likely),
            Kind::Vmdk => (ctx.starts_with(b"KDMV")
                || ctx.starts_with(b"COWD")
                || ctx.starts_with(&platter_vdisk::vmdk::SESPARSE_MAGIC.to_le_bytes())
                || ctx.starts_with(b"# Disk DescriptorFile"))
            .then_some(Confidence::Likely),
            Kind::Vhd => probe_vhd(ctx),
        }
    }

    fn open(&self, ctx: &ProbeContext) -> Result<Opened> {
        let opts = VdiskOptions {
            open: *ctx.options(),
            ..VdiskOptions::default()
        };
        let base = ctx.base().clone();
        let path = ctx.path();
        let opened = match self.kind {
            Kind::Vmdk => platter_vdisk::vmdk::open_source(base, path, &opts),
            Kind::Vhd => platter_vdisk::vhd::open_source(base, path, &opts),
            Kind::Vhdx => platter_vdisk::vhdx::open_source(base, path, &opts),
        };
        let disk = opened.map_err(|e| Error::Decode {
            path: path.to_path_buf(),
            format: self.format().name,
            source: Box::new(e),
        })?;
        Ok(opened_disk(ctx, self.format(), disk))
    }
}

/// An [`Opened`] for a decoded virtual disk.
fn opened_disk(ctx: &ProbeContext, format: Format, disk: VirtualDisk) -> Opened {
    let VirtualDisk { source, info } = disk;
    let mut opened = ctx.opened(source, format);
    for f in &info.files {
        if !opened.segments.contains(f) {
            opened.segments.push(f.clone());
        }
    }
    if info.chain.len() > 1 {
        opened.notes.push(format!(
            "snapshot chain of {} images: {}",
            info.chain.len(),
            chain_text(&info)
        ));
    }
    opened.metadata = metadata(&info);
    opened
}

fn chain_text(info: &VdiskInfo) -> String {
    info.chain
        .iter()
        .map(|l| format!("{} ({})", l.path.display(), l.status))
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// The report of a virtual disk as image metadata.
fn metadata(info: &VdiskInfo) -> ImageMetadata {
    let mut properties = vec![
        ("subformat".to_string(), info.subformat.clone()),
        ("virtual size".to_string(), info.virtual_size.to_string()),
    ];
    if let Some(bs) = info.block_size {
        properties.push(("block size".to_string(), bs.to_string()));
    }
    if let Some(a) = info.allocated_bytes {
        properties.push(("allocated bytes".to_string(), a.to_string()));
    }
    properties.push(("chain".to_string(), chain_text(info)));
    for (k, v) in &info.properties {
        if !properties.iter().any(|(key, _)| key == k) {
            properties.push((k.clone(), v.clone()));
        }
    }
    ImageMetadata {
        properties,
        stored_digests: Vec::new(),
        anomalies: info.anomalies.iter().map(ToString::to_string).collect(),
    }
}

#[cfg(test)]
#[path = "vdisk_probe_tests.rs"]
mod tests;
