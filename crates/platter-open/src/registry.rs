//! The [`Registry`] of format probes and the [`Opened`] image it returns.
//!
//! Opening a path goes in three steps:
//! 1. **Base**: a path named like a split segment (`x.001`, `x.aa`) whose set
//!    has more than one member becomes a [`Concat`](platter_core::Concat) of
//!    the set; anything else is opened by [`open_os`] (file or block device).
//! 2. **Probe**: every registered [`FormatProbe`] looks at the base's first
//!    and last 64 KiB. The most confident answer wins; ties go to the probe
//!    registered first.
//! 3. **Open**: the winner opens the base as its format. With no winner the
//!    base is used as raw bytes, and the notes say so.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use platter_core::SharedSource;
use platter_core::sys::{
    DeviceInfo, OpenOptions, device_info, open_os, open_split, split_segments,
};

use crate::error::Result;
use crate::probe::{Confidence, Format, FormatProbe, ProbeContext};
use crate::rescue::{RescueMap, apply_mapfile};
use crate::signatures;
use crate::split_hint::first_segment_of;

/// The note attached to an image in which no probe recognised anything.
pub const NO_SIGNATURE_NOTE: &str = "no known signature: opened as raw";

/// An image opened by path: the decoded source and what is known about it.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The path given by the user.
    pub path: PathBuf,
    /// The bytes of the image as a guest would see them (the decoded disk
    /// for container formats, the bytes themselves for raw).
    pub source: SharedSource,
    /// The format `source` was decoded from.
    pub format: Format,
    /// The format whose signature was found, even when this build could not
    /// decode it (then `format` is raw and a note explains). `None` when no
    /// signature matched.
    pub detected: Option<Format>,
    /// Plain-language remarks for the user: how the format was chosen, what
    /// could not be decoded or read.
    pub notes: Vec<String>,
    /// Every file the image is read from, in order (one entry for a plain
    /// file or block device). Outputs must never be written onto any of them.
    pub segments: Vec<PathBuf>,
    /// Block-device details from sysfs when the path is a block device.
    pub device: Option<DeviceInfo>,
    /// The ddrescue mapfile the image was read through, when one was given
    /// ([`Registry::open_rescued`]). Outputs must never be written onto it
    /// either.
    pub rescue: Option<RescueMap>,
    /// What the format decoder reported about the image: properties,
    /// stored digests and anomalies. Empty for raw images.
    pub metadata: crate::metadata::ImageMetadata,
}

/// The ordered set of format probes used by [`Registry::open`].
pub struct Registry {
    probes: Vec<Box<dyn FormatProbe>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.probes.iter().map(|p| p.name()))
            .finish()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Registry {
    /// A registry with no probes: everything opens as raw.
    pub fn empty() -> Self {
        Self { probes: Vec::new() }
    }

    /// Every format this build knows. Formats it can recognise but not yet
    /// decode (E01, VMDK, VHD, VHDX, qcow) open as raw with a note saying so.
    /// RAID recipes open as the array they describe.
    pub fn builtin() -> Self {
        let mut reg = Self::empty();
        for probe in signatures::recognisers() {
            reg.register(probe);
        }
        crate::vdisk_probe::probes()
            .into_iter()
            .for_each(|p| reg.register(p));
        reg.register(Box::new(crate::raid::RecipeProbe));
        reg.register(Box::new(crate::ewf_probe::EwfProbe));
        reg
    }

    /// Adds a probe after the existing ones. A probe with the same
    /// [`name`](FormatProbe::name) as a registered one replaces it in place,
    /// so a decoder can take over from a recogniser.
    pub fn register(&mut self, probe: Box<dyn FormatProbe>) {
        match self.probes.iter().position(|p| p.name() == probe.name()) {
            Some(i) => self.probes[i] = probe,
            None => self.probes.push(probe),
        }
    }

    /// Names of the registered probes, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.probes.iter().map(|p| p.name()).collect()
    }

    /// Opens `path`, detecting its format by content.
    pub fn open(&self, path: &Path, opts: &OpenOptions) -> Result<Opened> {
        self.open_with(path, None, opts)
    }

    /// Opens `path` as a GNU ddrescue image whose mapfile is `mapfile`: only
    /// the areas the map marks finished (`+`) are read from the image; every
    /// other area reads as unreadable, so it is reported and filled instead
    /// of passing off ddrescue's placeholder zeros as data.
    ///
    /// The map wraps the undecoded bytes before format detection, so a
    /// rescued container (E01, VHDX, …) is still recognised and its bad
    /// areas propagate through the decoder. [`Opened::rescue`] holds the map
    /// and a note summarises it.
    ///
    /// # Errors
    /// Those of [`open`](Self::open), and: the mapfile cannot be read, or is
    /// malformed (the error names its path and line); a finished block lies
    /// past the end of the image ([`Error::MapfileBeyondImage`](crate::Error::MapfileBeyondImage)).
    pub fn open_rescued(&self, path: &Path, mapfile: &Path, opts: &OpenOptions) -> Result<Opened> {
        self.open_with(path, Some(mapfile), opts)
    }

    fn open_with(&self, path: &Path, mapfile: Option<&Path>, opts: &OpenOptions) -> Result<Opened> {
        let mut ctx = base_context(path, opts)?;
        let mut map_notes = Vec::new();
        if let Some(mapfile) = mapfile {
            (ctx, map_notes) = apply_mapfile(ctx, mapfile)?;
        }
        let mut opened = self.open_context(&ctx)?;
        opened.notes.extend(map_notes);
        if ctx.segments().len() == 1 {
            if let Some(first) = first_segment_of(path) {
                opened.notes.push(format!(
                    "{} looks like a later segment of a split image: only this segment \
                     was opened; give the first segment ({}) to read the whole set",
                    path.display(),
                    first.display()
                ));
            }
        }
        Ok(opened)
    }

    /// Every probe that matches `ctx`, most confident first (stable among equals).
    pub fn detect(&self, ctx: &ProbeContext) -> Vec<(&dyn FormatProbe, Confidence)> {
        let mut hits: Vec<(&dyn FormatProbe, Confidence)> = self
            .probes
            .iter()
            .filter_map(|p| p.probe(ctx).map(|c| (&**p, c)))
            .collect();
        hits.sort_by_key(|h| std::cmp::Reverse(h.1));
        hits
    }

    /// Opens an already built context with the best matching probe, or as
    /// raw when none matches.
    pub fn open_context(&self, ctx: &ProbeContext) -> Result<Opened> {
        let mut opened = match self.detect(ctx).first() {
            Some((probe, _)) => probe.open(ctx)?,
            None => {
                let mut raw = ctx.opened_raw();
                raw.notes.push(NO_SIGNATURE_NOTE.to_string());
                raw.notes.extend(crate::raid::metadata_note(&*raw.source));
                raw
            }
        };
        let bad: u64 = ctx.unreadable().iter().map(|e| e.len).sum();
        if bad > 0 {
            let first = ctx.unreadable()[0].offset;
            opened.notes.push(format!(
                "{bad} bytes of the first and last 64 KiB could not be read \
                 (first at offset {first:#x}); format detection saw zeros there"
            ));
        }
        Ok(opened)
    }
}

/// Opens the undecoded base of `path`: the split set it belongs to, or the
/// file or block device itself.
pub fn base_context(path: &Path, opts: &OpenOptions) -> Result<ProbeContext> {
    // Report a missing or inaccessible path with the OS's own words first.
    if let Err(source) = std::fs::metadata(path) {
        return Err(platter_core::Error::Open {
            path: path.to_path_buf(),
            source,
        }
        .into());
    }
    if let Some(segments) = split_segments(path)? {
        if segments.len() > 1 {
            let concat = open_split(&segments, opts)?;
            return ProbeContext::new(
                path,
                Arc::new(concat),
                Format::SPLIT_RAW,
                segments,
                None,
                *opts,
            );
        }
    }
    let base = open_os(path, opts)?;
    // Missing sysfs details must not prevent reading the device itself.
    let device = device_info(path).ok().flatten();
    ProbeContext::new(
        path,
        base,
        Format::RAW,
        vec![path.to_path_buf()],
        device,
        *opts,
    )
}

/// Opens `path` with the [builtin](Registry::builtin) registry.
pub fn open(path: &Path, opts: &OpenOptions) -> Result<Opened> {
    Registry::builtin().open(path, opts)
}

/// Opens the ddrescue image `path` through its `mapfile` with the
/// [builtin](Registry::builtin) registry (see [`Registry::open_rescued`]).
pub fn open_rescued(path: &Path, mapfile: &Path, opts: &OpenOptions) -> Result<Opened> {
    Registry::builtin().open_rescued(path, mapfile, opts)
}
