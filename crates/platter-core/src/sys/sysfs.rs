//! Block-device identity from sysfs (`/sys/dev/block/MAJOR:MINOR`).
//!
//! Layout (Linux `Documentation/ABI/stable/sysfs-block`):
//! - `/sys/dev/block/M:m` links to the device's directory, e.g.
//!   `…/block/sda` for a disk or `…/block/sda/sda1` for a partition;
//! - a partition directory holds a `partition` file and its own `ro`; its
//!   parent directory is the whole disk;
//! - the whole disk holds `removable`, `ro`, `queue/rotational`, and for
//!   some drivers `serial` (virtio) or `wwid` (NVMe namespaces);
//! - the disk's `device/` links to the hardware: `model`, `vendor` (SCSI,
//!   ATA via libata), `serial` (NVMe controller, some USB), `wwid` (NVMe),
//!   `name` (MMC/SD cards).
//!
//! Every attribute is optional: loop and device-mapper devices have no
//! `device/` at all.

use std::fs;
use std::path::{Path, PathBuf};

/// What sysfs says about one block device. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct SysfsInfo {
    /// Kernel name, e.g. `sda1`, `nvme0n1`, `loop3`.
    pub name: Option<String>,
    pub model: Option<String>,
    pub vendor: Option<String>,
    pub serial: Option<String>,
    pub rotational: Option<bool>,
    pub removable: Option<bool>,
    /// The device's own `ro` flag (a partition can be read-only on its own).
    pub read_only: Option<bool>,
}

/// Attributes are short; anything larger is not what we expect.
const MAX_ATTR_BYTES: u64 = 4096;

/// Looks up `major:minor` under `sys_root` (normally `/sys`). Returns `None`
/// when sysfs has no entry for it (not mounted, or a container without it).
pub(super) fn lookup(sys_root: &Path, major: u32, minor: u32) -> Option<SysfsInfo> {
    let link = sys_root.join("dev/block").join(format!("{major}:{minor}"));
    let dir = fs::canonicalize(link).ok()?;
    Some(read_dir_info(&dir))
}

/// Reads the attributes of the device whose sysfs directory is `dir`.
fn read_dir_info(dir: &Path) -> SysfsInfo {
    let disk: PathBuf = if dir.join("partition").exists() {
        dir.parent()
            .map_or_else(|| dir.to_path_buf(), Path::to_path_buf)
    } else {
        dir.to_path_buf()
    };
    let first = |names: &[&str]| names.iter().find_map(|n| attr(&disk.join(n)));
    SysfsInfo {
        name: dir.file_name().map(|n| n.to_string_lossy().into_owned()),
        model: first(&["device/model", "device/name"]),
        vendor: first(&["device/vendor"]),
        serial: first(&["device/serial", "serial", "device/wwid", "wwid"]),
        rotational: flag(&disk.join("queue/rotational")),
        removable: flag(&disk.join("removable")),
        read_only: flag(&dir.join("ro")).or_else(|| flag(&disk.join("ro"))),
    }
}

/// A trimmed, non-empty text attribute, or `None` if missing, unreadable,
/// oversized, not UTF-8 or blank.
fn attr(path: &Path) -> Option<String> {
    let meta = fs::metadata(path).ok()?;
    // sysfs reports 4096 for every attribute; a real file could be anything.
    if !meta.is_file() || meta.len() > MAX_ATTR_BYTES {
        return None;
    }
    let bytes = fs::read(path).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let text = text.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!text.is_empty()).then(|| text.to_string())
}

/// A `0`/`1` attribute.
fn flag(path: &Path) -> Option<bool> {
    match attr(path)?.as_str() {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    /// A fake sysfs with a SCSI disk `sdb`, its partition `sdb2`, a virtio
    /// disk and a loop device, linked from `dev/block` like the real one.
    fn fake_sysfs() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        let sdb = "devices/pci/host0/block/sdb";
        write(r, &format!("{sdb}/device/model"), "Samsung SSD 860  \n");
        write(r, &format!("{sdb}/device/vendor"), "ATA     \n");
        write(r, &format!("{sdb}/device/wwid"), "t10.ATA Samsung S3Z9\n");
        write(r, &format!("{sdb}/queue/rotational"), "0\n");
        write(r, &format!("{sdb}/removable"), "1\n");
        write(r, &format!("{sdb}/ro"), "0\n");
        write(r, &format!("{sdb}/sdb2/partition"), "2\n");
        write(r, &format!("{sdb}/sdb2/ro"), "1\n");
        let vda = "devices/pci/virtio1/block/vda";
        write(r, &format!("{vda}/serial"), "1806637634407045");
        write(r, &format!("{vda}/device/vendor"), "0x1af4\n");
        write(r, &format!("{vda}/device/model"), "   \n");
        write(r, &format!("{vda}/queue/rotational"), "1\n");
        let loop0 = "devices/virtual/block/loop0";
        write(r, &format!("{loop0}/removable"), "0\n");
        write(r, &format!("{loop0}/queue/rotational"), "garbage\n");
        fs::create_dir_all(r.join("dev/block")).unwrap();
        for (num, target) in [
            ("8:16", sdb.to_string()),
            ("8:18", format!("{sdb}/sdb2")),
            ("254:0", vda.to_string()),
            ("7:0", loop0.to_string()),
        ] {
            std::os::unix::fs::symlink(format!("../../{target}"), r.join("dev/block").join(num))
                .unwrap();
        }
        t
    }

    #[test]
    fn whole_disk_attributes_are_trimmed() {
        let t = fake_sysfs();
        let info = lookup(t.path(), 8, 16).unwrap();
        assert_eq!(info.name.as_deref(), Some("sdb"));
        assert_eq!(info.model.as_deref(), Some("Samsung SSD 860"));
        assert_eq!(info.vendor.as_deref(), Some("ATA"));
        // No device/serial: falls back to the wwid.
        assert_eq!(info.serial.as_deref(), Some("t10.ATA Samsung S3Z9"));
        assert_eq!(info.rotational, Some(false));
        assert_eq!(info.removable, Some(true));
        assert_eq!(info.read_only, Some(false));
    }

    #[test]
    fn partition_uses_parent_hardware_and_own_ro() {
        let t = fake_sysfs();
        let info = lookup(t.path(), 8, 18).unwrap();
        assert_eq!(info.name.as_deref(), Some("sdb2"));
        assert_eq!(info.model.as_deref(), Some("Samsung SSD 860"));
        assert_eq!(info.removable, Some(true));
        assert_eq!(info.rotational, Some(false));
        assert_eq!(info.read_only, Some(true));
    }

    #[test]
    fn virtio_serial_at_disk_level_and_blank_model() {
        let t = fake_sysfs();
        let info = lookup(t.path(), 254, 0).unwrap();
        assert_eq!(info.serial.as_deref(), Some("1806637634407045"));
        assert_eq!(info.model, None);
        assert_eq!(info.vendor.as_deref(), Some("0x1af4"));
        assert_eq!(info.rotational, Some(true));
        assert_eq!(info.removable, None);
    }

    #[test]
    fn loop_device_without_hardware() {
        let t = fake_sysfs();
        let info = lookup(t.path(), 7, 0).unwrap();
        assert_eq!(info.name.as_deref(), Some("loop0"));
        assert_eq!((info.model, info.vendor, info.serial), (None, None, None));
        assert_eq!(info.removable, Some(false));
        assert_eq!(info.rotational, None, "garbage flag is not a bool");
        assert_eq!(lookup(t.path(), 7, 99), None);
    }
}
