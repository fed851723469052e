//! The VMDK text descriptor: `key = "value"` lines, extent lines and the
//! disk database.
//!
//! Layout from libyal libvmdk "VMWare Virtual Disk Format (VMDK)", section
//! "The descriptor file", and qemu `block/vmdk.c` (`vmdk_parse_extents`):
//!
//! ```text
//! # Disk DescriptorFile
//! version=1
//! CID=fffffffe
//! parentCID=ffffffff
//! createType="monolithicSparse"
//! parentFileNameHint="base.vmdk"
//!
//! RW 16384 SPARSE "disk.vmdk"
//! RW 4192256 FLAT "disk-f001.vmdk" 0
//! RDONLY 1024 ZERO
//!
//! ddb.geometry.cylinders = "16"
//! ```

use std::path::Path;

use crate::error::{Error, Result};

/// Largest descriptor text read, in bytes. Real ones are a few KiB; qemu
/// stops at 1 MiB too.
pub const MAX_DESCRIPTOR_BYTES: u64 = 1 << 20;
/// Most extent lines accepted in one descriptor (a 62 TiB
/// twoGbMaxExtentSparse disk has about 31 750).
pub const MAX_EXTENTS: usize = 65_536;
/// Largest extent, in 512-byte sectors (2^40 sectors = 512 TiB).
pub const MAX_EXTENT_SECTORS: u64 = 1 << 40;

/// The `NAME` of an extent line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtentType {
    /// Raw data in a file (`FLAT`), or on VMFS (`VMFS`, `VMFSRAW`, `VMFSRDM`).
    Flat,
    /// A hosted sparse (`KDMV`) file (`SPARSE`).
    Sparse,
    /// Reads as zeros, no file (`ZERO`).
    Zero,
    /// A COWD (`VMFSSPARSE`) or seSparse (`SESPARSE`) file.
    VmfsSparse,
}

/// The access mode of an extent line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `RW`.
    ReadWrite,
    /// `RDONLY`.
    ReadOnly,
    /// `NOACCESS`: the data cannot be read.
    Denied,
}

/// One extent line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtentLine {
    /// Access mode.
    pub access: Access,
    /// Size in 512-byte sectors.
    pub sectors: u64,
    /// Type.
    pub kind: ExtentType,
    /// File name as written (empty for `ZERO`).
    pub file: String,
    /// Start of the data in the file, in sectors (FLAT only).
    pub offset_sectors: u64,
    /// 1-based line number, for messages.
    pub line: usize,
}

/// A parsed descriptor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Descriptor {
    /// `CID`, when present and valid hex.
    pub cid: Option<u32>,
    /// `parentCID`; `0xffffffff` means no parent.
    pub parent_cid: Option<u32>,
    /// `createType`.
    pub create_type: String,
    /// `parentFileNameHint`.
    pub parent_hint: Option<String>,
    /// Extent lines, in order.
    pub extents: Vec<ExtentLine>,
    /// Every other `key = value` pair (disk database and the rest).
    pub properties: Vec<(String, String)>,
}

impl Descriptor {
    /// Total size of the extents, in sectors.
    pub fn total_sectors(&self) -> u64 {
        self.extents
            .iter()
            .fold(0u64, |acc, e| acc.saturating_add(e.sectors))
    }
}

/// Strips one pair of surrounding double quotes and whitespace.
fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(s)
}

/// Parses descriptor text read from `path` starting at byte `base_offset`
/// of that file (both only for messages). Stops at the first NUL byte (an
/// embedded descriptor is NUL-padded).
///
/// # Errors
/// [`Error::Corrupt`] for a malformed extent line or a bad CID;
/// [`Error::Limit`] for too many or too large extents.
pub fn parse(text: &[u8], path: &Path, base_offset: u64) -> Result<Descriptor> {
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    let text = String::from_utf8_lossy(&text[..end]);
    let mut d = Descriptor::default();
    let mut line_offset = base_offset;
    for (idx, raw) in text.split('\n').enumerate() {
        let line_no = idx + 1;
        let here = line_offset;
        line_offset = line_offset.saturating_add(raw.len() as u64 + 1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let corrupt = |what: String| Error::Corrupt {
            path: path.to_path_buf(),
            offset: here,
            what: format!("descriptor line {line_no}: {what}"),
        };
        let first = line.split_whitespace().next().unwrap_or("");
        if matches!(first, "RW" | "RDONLY" | "NOACCESS") && !line.contains('=') {
            if d.extents.len() >= MAX_EXTENTS {
                return Err(Error::Limit {
                    path: path.to_path_buf(),
                    offset: here,
                    what: "descriptor extent count",
                    value: d.extents.len() as u64 + 1,
                    limit: MAX_EXTENTS as u64,
                });
            }
            let ext = parse_extent(line, line_no).map_err(corrupt)?;
            if ext.sectors > MAX_EXTENT_SECTORS {
                return Err(Error::Limit {
                    path: path.to_path_buf(),
                    offset: here,
                    what: "extent size in sectors",
                    value: ext.sectors,
                    limit: MAX_EXTENT_SECTORS,
                });
            }
            d.extents.push(ext);
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue; // tolerate junk lines, as VMware does
        };
        let key = key.trim();
        let value = unquote(value);
        match key {
            "CID" => d.cid = Some(parse_cid(value).map_err(corrupt)?),
            "parentCID" => d.parent_cid = Some(parse_cid(value).map_err(corrupt)?),
            "createType" => d.create_type = value.to_string(),
            "parentFileNameHint" => d.parent_hint = Some(value.to_string()),
            _ => d.properties.push((key.to_string(), value.to_string())),
        }
    }
    Ok(d)
}

fn parse_cid(v: &str) -> std::result::Result<u32, String> {
    u32::from_str_radix(v.trim(), 16).map_err(|_| format!("CID {v:?} is not 8 hex digits"))
}

/// Parses `ACCESS SECTORS TYPE ["FILE" [OFFSET]]`.
fn parse_extent(line: &str, line_no: usize) -> std::result::Result<ExtentLine, String> {
    let (access, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let access = match access {
        "RW" => Access::ReadWrite,
        "RDONLY" => Access::ReadOnly,
        _ => Access::Denied,
    };
    let rest = rest.trim_start();
    let (sectors, rest) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let sectors: u64 = sectors
        .parse()
        .map_err(|_| format!("extent size {sectors:?} is not a number"))?;
    let rest = rest.trim_start();
    let (kind, rest) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let kind = match kind {
        "FLAT" | "VMFS" | "VMFSRAW" | "VMFSRDM" => ExtentType::Flat,
        "SPARSE" => ExtentType::Sparse,
        "ZERO" => ExtentType::Zero,
        "VMFSSPARSE" | "SESPARSE" => ExtentType::VmfsSparse,
        other => return Err(format!("unknown extent type {other:?}")),
    };
    let rest = rest.trim_start();
    if kind == ExtentType::Zero && rest.is_empty() {
        return Ok(ExtentLine {
            access,
            sectors,
            kind,
            file: String::new(),
            offset_sectors: 0,
            line: line_no,
        });
    }
    let Some(after_quote) = rest.strip_prefix('"') else {
        return Err("extent file name is not quoted".into());
    };
    let Some((file, tail)) = after_quote.split_once('"') else {
        return Err("extent file name has no closing quote".into());
    };
    if file.is_empty() && kind != ExtentType::Zero {
        return Err("extent file name is empty".into());
    }
    let tail = tail.trim();
    let offset_sectors = if tail.is_empty() {
        0
    } else {
        let tok = tail.split_whitespace().next().unwrap_or("");
        tok.parse()
            .map_err(|_| format!("extent offset {tok:?} is not a number"))?
    };
    Ok(ExtentLine {
        access,
        sectors,
        kind,
        file: file.to_string(),
        offset_sectors,
        line: line_no,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_qemu_descriptor() {
        let text = b"# Disk DescriptorFile\nversion=1\nCID=b9cec859\nparentCID=ffffffff\n\
createType=\"twoGbMaxExtentFlat\"\n\nRW 4194304 FLAT \"t-f001.vmdk\" 0\nRDONLY 8 ZERO\n\
NOACCESS 16 SPARSE \"s.vmdk\"\nddb.adapterType = \"ide\"\nparentFileNameHint=\"base.vmdk\"\n\0\0junk";
        let d = parse(text, Path::new("t.vmdk"), 0).unwrap();
        assert_eq!(d.cid, Some(0xb9ce_c859));
        assert_eq!(d.parent_cid, Some(0xffff_ffff));
        assert_eq!(d.create_type, "twoGbMaxExtentFlat");
        assert_eq!(d.parent_hint.as_deref(), Some("base.vmdk"));
        assert_eq!(d.extents.len(), 3);
        assert_eq!(d.extents[0].kind, ExtentType::Flat);
        assert_eq!(d.extents[0].file, "t-f001.vmdk");
        assert_eq!(d.extents[1].kind, ExtentType::Zero);
        assert_eq!(d.extents[2].access, Access::Denied);
        assert_eq!(d.total_sectors(), 4_194_304 + 24);
        assert_eq!(
            d.properties,
            vec![
                ("version".into(), "1".into()),
                ("ddb.adapterType".into(), "ide".into())
            ]
        );
    }

    #[test]
    fn rejects_bad_lines_with_offset() {
        let text = b"version=1\nRW 12 SPARSE noquote\n";
        match parse(text, Path::new("x.vmdk"), 0x200) {
            Err(Error::Corrupt { offset, .. }) => assert_eq!(offset, 0x200 + 10),
            other => panic!("{other:?}"),
        }
        assert!(parse(b"RW 1 BOGUS \"a\"\n", Path::new("x"), 0).is_err());
        assert!(parse(b"CID=zz\n", Path::new("x"), 0).is_err());
        let huge = format!("RW {} FLAT \"a\" 0\n", MAX_EXTENT_SECTORS + 1);
        assert!(matches!(
            parse(huge.as_bytes(), Path::new("x"), 0),
            Err(Error::Limit { .. })
        ));
    }
}
