//! VMDK reader: descriptors (embedded or separate), FLAT/SPARSE/ZERO/VMFS/
//! VMFSSPARSE extents, hosted sparse, streamOptimized (qemu and VMware
//! style), COWD and seSparse, snapshot chains, damaged files.
//!
//! See `docs/vmdk.md` for the layouts and the recovery rules.

mod descriptor;
mod grains;
mod header;
mod paths;
mod source;
mod stream;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use platter_core::{ExtentKind, SharedSource, Source};

use crate::common::{Anomaly, ChainLink, VdiskFormat, VdiskInfo, VdiskOptions, VirtualDisk};
use crate::error::{Error, Result};
pub use descriptor::{Descriptor, MAX_DESCRIPTOR_BYTES, parse as parse_descriptor};
use grains::read_some;
use header::{COWD_MAGIC, GD_AT_END, KDMV_MAGIC};
pub use header::{SESPARSE_MAGIC, SparseHeader, SparseKind, parse_cowd, parse_kdmv};
use source::{ExtentData, Parent, Part, SparseExtent, VmdkSource};

/// Longest parent chain followed.
pub const MAX_CHAIN_DEPTH: usize = 64;
/// Most anomalies kept per image; more are counted in one last record.
const MAX_ANOMALIES: usize = 1000;

/// Anomalies found while opening, turned into errors in strict mode.
#[derive(Debug)]
pub(crate) struct Report {
    strict: bool,
    anomalies: Vec<Anomaly>,
    dropped: usize,
}

impl Report {
    fn new(strict: bool) -> Self {
        Report {
            strict,
            anomalies: Vec::new(),
            dropped: 0,
        }
    }

    /// Records an anomaly; in strict mode returns it as [`Error::Strict`].
    pub(crate) fn add(
        &mut self,
        file: &Path,
        offset: Option<u64>,
        kind: &str,
        message: String,
    ) -> Result<()> {
        let a = Anomaly {
            file: file.to_path_buf(),
            offset,
            kind: kind.to_string(),
            message,
        };
        if self.strict {
            return Err(Error::Strict(a));
        }
        if self.anomalies.len() < MAX_ANOMALIES {
            self.anomalies.push(a);
        } else {
            self.dropped += 1;
        }
        Ok(())
    }

    fn finish(mut self, file: &Path) -> Vec<Anomaly> {
        if self.dropped > 0 {
            self.anomalies.push(Anomaly {
                file: file.to_path_buf(),
                offset: None,
                kind: "more_anomalies".into(),
                message: format!("{} more anomalies not listed", self.dropped),
            });
        }
        self.anomalies
    }
}

/// Opens a VMDK image (descriptor, sparse or stream file) and its extents
/// and parents.
///
/// # Errors
/// The file cannot be opened or is not a VMDK; a structure is damaged
/// beyond recovery; an extent or parent path escapes the folder
/// ([`Error::PathEscape`]); the parent's CID does not match
/// ([`Error::ParentMismatch`], unless `ignore_cid`); any anomaly in
/// `strict` mode.
pub fn open(path: &Path, opts: &VdiskOptions) -> Result<VirtualDisk> {
    let base = platter_core::open_os(path, &opts.open)?;
    open_source(base, path, opts)
}

/// Opens a VMDK whose first file is already a source (for example a
/// window inside an assembled RAID array). `path` names it in messages and
/// is the folder extents and parents are resolved against.
///
/// # Errors
/// As [`open`].
pub fn open_source(base: SharedSource, path: &Path, opts: &VdiskOptions) -> Result<VirtualDisk> {
    let mut visited = HashSet::new();
    Ok(open_chain(base, path, opts, 0, &mut visited)?.disk)
}

struct Opened {
    disk: VirtualDisk,
    cid: Option<u32>,
}

fn open_chain(
    base: SharedSource,
    path: &Path,
    opts: &VdiskOptions,
    depth: usize,
    visited: &mut HashSet<PathBuf>,
) -> Result<Opened> {
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if !visited.insert(key) {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            offset: 0,
            what: "the parent chain loops back to this file".into(),
        });
    }
    let mut report = Report::new(opts.strict);
    let mut files = vec![path.to_path_buf()];
    let mut props: Vec<(String, String)> = Vec::new();
    let img = open_image(base, path, opts, &mut report, &mut files, &mut props)?;
    let desc = img.desc;
    let name = path.display().to_string();
    let len = img.parts.last().map_or(0, |p| p.start + p.len);
    let mut chain = vec![ChainLink {
        path: path.to_path_buf(),
        format: VdiskFormat::Vmdk,
        subformat: img.create_type.clone(),
        status: "ok".into(),
    }];
    let mut anomalies_below = Vec::new();
    let wants_parent = desc.parent_hint.is_some() && desc.parent_cid != Some(u32::MAX);
    let mut parent = Parent::None;
    if let (true, Some(hint)) = (wants_parent, desc.parent_hint.as_deref()) {
        let ppath = paths::resolve(path, hint, opts.allow_outside_paths)?;
        if depth + 1 >= MAX_CHAIN_DEPTH {
            return Err(Error::Limit {
                path: path.to_path_buf(),
                offset: 0,
                what: "parent chain depth",
                value: depth as u64 + 1,
                limit: MAX_CHAIN_DEPTH as u64,
            });
        }
        match platter_core::open_os(&ppath, &opts.open) {
            Err(_) if !ppath.exists() => {
                report.add(
                    path,
                    None,
                    "parent_missing",
                    format!(
                        "parent {hint:?} is missing: ranges not stored in this image are unreadable"
                    ),
                )?;
                chain.push(ChainLink {
                    path: ppath,
                    format: VdiskFormat::Vmdk,
                    subformat: String::new(),
                    status: "missing".into(),
                });
                parent = Parent::Missing;
            }
            Err(e) => return Err(e.into()),
            Ok(pbase) => {
                let p = open_chain(pbase, &ppath, opts, depth + 1, visited)?;
                let mut links = p.disk.info.chain;
                if let (Some(want), found) = (desc.parent_cid, p.cid) {
                    if found != Some(want) {
                        let found_s = found.map_or("none".to_string(), |c| format!("{c:08x}"));
                        if !opts.ignore_cid {
                            return Err(Error::ParentMismatch {
                                child: path.to_path_buf(),
                                parent: ppath,
                                expected: format!("CID {want:08x}"),
                                found: format!("CID {found_s}"),
                            });
                        }
                        report.add(path, None, "parent_cid_mismatch", format!(
                            "parent {} has CID {found_s}, this image expects {want:08x} (ignored)",
                            ppath.display()
                        ))?;
                        if let Some(l) = links.first_mut() {
                            l.status = "parent CID mismatch (ignored)".into();
                        }
                    }
                }
                chain.extend(links);
                files.extend(p.disk.info.files);
                anomalies_below = p.disk.info.anomalies;
                parent = Parent::Disk(p.disk.source);
            }
        }
    }
    let src = Arc::new(VmdkSource {
        name,
        len,
        parts: img.parts,
        parent,
    });
    let allocated = src.extents(0, len).ok().map(|m| {
        m.iter()
            .filter(|e| e.kind == ExtentKind::Data)
            .map(|e| e.len)
            .sum()
    });
    if let Some(c) = desc.cid {
        props.insert(0, ("CID".into(), format!("{c:08x}")));
    }
    if let Some(c) = desc.parent_cid {
        props.insert(1.min(props.len()), ("parentCID".into(), format!("{c:08x}")));
    }
    props.extend(desc.properties.iter().cloned());
    let mut anomalies = report.finish(path);
    anomalies.extend(anomalies_below);
    Ok(Opened {
        cid: desc.cid,
        disk: VirtualDisk {
            source: src,
            info: VdiskInfo {
                format: VdiskFormat::Vmdk,
                subformat: img.create_type,
                virtual_size: len,
                block_size: img.grain_bytes,
                allocated_bytes: allocated,
                chain,
                files,
                properties: props,
                anomalies,
            },
        },
    })
}

/// One image file opened: its extents and descriptor.
struct Image {
    parts: Vec<Part>,
    desc: Descriptor,
    create_type: String,
    grain_bytes: Option<u64>,
}

fn open_image(
    base: SharedSource,
    path: &Path,
    opts: &VdiskOptions,
    report: &mut Report,
    files: &mut Vec<PathBuf>,
    props: &mut Vec<(String, String)>,
) -> Result<Image> {
    let head = read_some(&*base, path, 0, 512)?;
    let is_sparse = head.starts_with(KDMV_MAGIC)
        || head.starts_with(COWD_MAGIC)
        || (head.len() >= 8
            && u64::from_le_bytes(head[..8].try_into().unwrap_or_default()) == SESPARSE_MAGIC);
    if !is_sparse {
        if base.len() > MAX_DESCRIPTOR_BYTES {
            return Err(Error::Limit {
                path: path.to_path_buf(),
                offset: 0,
                what: "text descriptor size",
                value: base.len(),
                limit: MAX_DESCRIPTOR_BYTES,
            });
        }
        let text = read_some(&*base, path, 0, MAX_DESCRIPTOR_BYTES)?;
        let desc = descriptor::parse(&text, path, 0)?;
        return open_described(desc, path, 0, opts, report, files, props);
    }
    let (ext, h) = open_sparse(base.clone(), path, report)?;
    if h.kind == SparseKind::Hosted && h.capacity_sectors == 0 && h.desc_offset_sectors > 0 {
        // A descriptor-only sparse file: the extents are described inside.
        let at = h.desc_offset_sectors.saturating_mul(512);
        let text = read_some(&*base, path, at, MAX_DESCRIPTOR_BYTES)?;
        let desc = descriptor::parse(&text, path, at)?;
        return open_described(desc, path, at, opts, report, files, props);
    }
    let mut desc = Descriptor::default();
    if h.desc_offset_sectors > 0 && h.desc_size_sectors > 0 {
        let at = h.desc_offset_sectors.saturating_mul(512);
        let size = h
            .desc_size_sectors
            .saturating_mul(512)
            .min(MAX_DESCRIPTOR_BYTES);
        let text = read_some(&*base, path, at, size)?;
        match descriptor::parse(&text, path, at) {
            Ok(d) => desc = d,
            Err(e) => report.add(
                path,
                Some(at),
                "bad_descriptor",
                format!("embedded descriptor unreadable: {e}"),
            )?,
        }
    }
    let create_type = if !desc.create_type.is_empty() {
        desc.create_type.clone()
    } else {
        match h.kind {
            SparseKind::Hosted if h.compressed => "streamOptimized",
            SparseKind::Hosted => "monolithicSparse",
            SparseKind::Cowd => "vmfsSparse",
            SparseKind::SeSparse => "seSparse",
        }
        .to_string()
    };
    header_props(&h, props);
    let len = h.capacity_sectors * 512;
    Ok(Image {
        parts: vec![Part {
            start: 0,
            len,
            data: ExtentData::Sparse(ext),
        }],
        desc,
        create_type,
        grain_bytes: Some(h.grain_bytes()),
    })
}

fn header_props(h: &SparseHeader, props: &mut Vec<(String, String)>) {
    props.push(("sparse_version".into(), h.version.to_string()));
    props.push(("grain_sectors".into(), h.grain_sectors.to_string()));
    props.push(("compressed".into(), h.compressed.to_string()));
    props.push(("zeroed_grain".into(), h.zeroed_grain.to_string()));
}

/// Opens the extents listed in a descriptor found in `path`.
fn open_described(
    desc: Descriptor,
    path: &Path,
    desc_at: u64,
    opts: &VdiskOptions,
    report: &mut Report,
    files: &mut Vec<PathBuf>,
    props: &mut Vec<(String, String)>,
) -> Result<Image> {
    use descriptor::{Access, ExtentType};
    if desc.extents.is_empty() {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            offset: desc_at,
            what: "the descriptor lists no extents".into(),
        });
    }
    let mut parts = Vec::with_capacity(desc.extents.len());
    let mut start = 0u64;
    let mut grain_bytes = None;
    for line in &desc.extents {
        let len = line.sectors * 512; // bounded by MAX_EXTENT_SECTORS
        let data = if line.access == Access::Denied {
            report.add(
                path,
                Some(desc_at),
                "noaccess_extent",
                format!(
                    "extent on line {} is NOACCESS: {len} bytes unreadable",
                    line.line
                ),
            )?;
            ExtentData::NoAccess
        } else if line.kind == ExtentType::Zero {
            ExtentData::Zero
        } else {
            let epath = paths::resolve(path, &line.file, opts.allow_outside_paths)?;
            match platter_core::open_os(&epath, &opts.open) {
                Err(_) if !epath.exists() => {
                    report.add(
                        path,
                        Some(desc_at),
                        "missing_extent",
                        format!(
                            "extent file {:?} is missing: {len} bytes unreadable",
                            line.file
                        ),
                    )?;
                    ExtentData::NoAccess
                }
                Err(e) => return Err(e.into()),
                Ok(file) => {
                    files.push(epath.clone());
                    if line.kind == ExtentType::Flat {
                        let fstart = line.offset_sectors.saturating_mul(512);
                        let need = fstart.saturating_add(len);
                        if file.len() < need {
                            report.add(
                                &epath,
                                Some(file.len()),
                                "truncated",
                                format!(
                                    "flat extent is {} bytes short: that range is unreadable",
                                    need - file.len()
                                ),
                            )?;
                        }
                        ExtentData::Flat {
                            file,
                            start: fstart,
                        }
                    } else {
                        let (mut ext, h) = open_sparse(file, &epath, report)?;
                        if h.capacity_sectors < line.sectors {
                            report.add(&epath, Some(12), "extent_size_mismatch", format!(
                                "header capacity {} sectors is smaller than the descriptor's {}",
                                h.capacity_sectors, line.sectors
                            ))?;
                        }
                        if grain_bytes.is_none() {
                            grain_bytes = Some(h.grain_bytes());
                            header_props(&h, props);
                        }
                        ext.len = len;
                        ExtentData::Sparse(ext)
                    }
                }
            }
        };
        parts.push(Part { start, len, data });
        start = start.checked_add(len).ok_or_else(|| Error::Corrupt {
            path: path.to_path_buf(),
            offset: desc_at,
            what: "extent sizes overflow".into(),
        })?;
    }
    let create_type = if desc.create_type.is_empty() {
        "custom".to_string()
    } else {
        desc.create_type.clone()
    };
    Ok(Image {
        parts,
        desc,
        create_type,
        grain_bytes,
    })
}

/// Reads a sparse extent's header (and footer) and grain map.
fn open_sparse(
    file: SharedSource,
    path: &Path,
    report: &mut Report,
) -> Result<(SparseExtent, SparseHeader)> {
    let mut b = [0u8; 512];
    let head = read_some(&*file, path, 0, 512)?;
    if head.len() < 512 {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            offset: 0,
            what: format!(
                "file is {} bytes, too short for a sparse header",
                head.len()
            ),
        });
    }
    b.copy_from_slice(&head);
    let file_len = file.len();
    let mut h = if b.starts_with(KDMV_MAGIC) {
        header::parse_kdmv(&b, path, 0)?
    } else if b.starts_with(COWD_MAGIC) {
        header::parse_cowd(&b, path)?
    } else {
        let voff = header::sesparse_volatile_offset(&b);
        let vol = read_some(&*file, path, voff, 512)?;
        let mut v = [0u8; 512];
        v[..vol.len()].copy_from_slice(&vol);
        let (h, dirty) = header::parse_sesparse(&b, &v, path)?;
        if dirty {
            report.add(
                path,
                Some(voff),
                "journal_not_replayed",
                "seSparse journal needs replaying; data may be stale".into(),
            )?;
        }
        h
    };
    if h.newline_damaged {
        report.add(
            path,
            Some(73),
            "newline_check",
            "newline check bytes damaged (file transferred in text mode?)".into(),
        )?;
    }
    if h.unclean {
        report.add(
            path,
            Some(72),
            "unclean_shutdown",
            "uncleanShutdown is set: tables may lag behind the data".into(),
        )?;
    }
    if h.kind == SparseKind::Hosted && h.capacity_sectors == 0 {
        let map = grains::GrainMap {
            grain_bytes: h.grain_bytes(),
            gtes: h.gtes_per_gt,
            tables: Vec::new(),
        };
        let ext = SparseExtent::new(file, map, false, 0);
        return Ok((ext, h));
    }
    let mut recover = false;
    if h.kind == SparseKind::Hosted && h.gd_offset_sectors == GD_AT_END {
        let footer = file_len
            .checked_sub(1536)
            .and_then(|at| read_some(&*file, path, at, 1536).ok().map(|v| (at, v)))
            .and_then(|(at, v)| {
                let arr: [u8; 1536] = v.try_into().ok()?;
                header::parse_footer(&arr, path, at)
            });
        match footer {
            Some(f)
                if f.capacity_sectors == h.capacity_sectors
                    && f.grain_sectors == h.grain_sectors =>
            {
                h = f
            }
            _ => recover = true,
        }
    }
    let map = if recover {
        stream::recover(&*file, path, &h, report)?
    } else {
        let mut scratch = Report::new(report.strict);
        let map = grains::load(&*file, path, &h, &mut scratch)?;
        let usable = map
            .tables
            .iter()
            .any(|t| !matches!(t, grains::Table::Unreadable));
        if !usable && h.markers && h.compressed {
            report.add(
                path,
                Some(h.gd_offset_sectors.saturating_mul(512)),
                "gd_unusable",
                "grain directory unusable; scanning the stream instead".into(),
            )?;
            stream::recover(&*file, path, &h, report)?
        } else {
            report.anomalies.extend(scratch.anomalies);
            map
        }
    };
    let len = h.capacity_sectors * 512;
    Ok((SparseExtent::new(file, map, h.markers, len), h))
}
