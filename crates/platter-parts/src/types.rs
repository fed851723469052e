//! Names of common partition types.
//!
//! MBR type bytes and names follow util-linux fdisk (`sfdisk --label dos -T`);
//! GPT type GUIDs and names follow util-linux (`sfdisk --label gpt -T`) and the
//! UEFI specification, table 5.7 ("Defined GPT Partition Entry - Partition
//! Type GUIDs").

/// MBR partition type bytes that introduce an extended partition (an EBR chain).
pub(crate) const MBR_EXTENDED_TYPES: [u8; 3] = [0x05, 0x0F, 0x85];

/// The MBR type of a GPT protective partition.
pub(crate) const MBR_PROTECTIVE_TYPE: u8 = 0xEE;

/// True when `kind` is an extended-partition type.
pub(crate) fn is_mbr_extended(kind: u8) -> bool {
    MBR_EXTENDED_TYPES.contains(&kind)
}

const MBR_NAMES: &[(u8, &str)] = &[
    (0x00, "Empty"),
    (0x01, "FAT12"),
    (0x04, "FAT16 <32M"),
    (0x05, "Extended"),
    (0x06, "FAT16"),
    (0x07, "HPFS/NTFS/exFAT"),
    (0x0B, "W95 FAT32"),
    (0x0C, "W95 FAT32 (LBA)"),
    (0x0E, "W95 FAT16 (LBA)"),
    (0x0F, "W95 Ext'd (LBA)"),
    (0x11, "Hidden FAT12"),
    (0x12, "Compaq diagnostics"),
    (0x14, "Hidden FAT16 <32M"),
    (0x16, "Hidden FAT16"),
    (0x17, "Hidden HPFS/NTFS"),
    (0x1B, "Hidden W95 FAT32"),
    (0x1C, "Hidden W95 FAT32 (LBA)"),
    (0x1E, "Hidden W95 FAT16 (LBA)"),
    (0x27, "Hidden NTFS WinRE"),
    (0x39, "Plan 9"),
    (0x41, "PPC PReP Boot"),
    (0x42, "SFS"),
    (0x4D, "QNX4.x"),
    (0x63, "GNU HURD or SysV"),
    (0x80, "Old Minix"),
    (0x81, "Minix / old Linux"),
    (0x82, "Linux swap / Solaris"),
    (0x83, "Linux"),
    (0x84, "OS/2 hidden or Intel hibernation"),
    (0x85, "Linux extended"),
    (0x86, "NTFS volume set"),
    (0x87, "NTFS volume set"),
    (0x8E, "Linux LVM"),
    (0x9F, "BSD/OS"),
    (0xA0, "IBM Thinkpad hibernation"),
    (0xA5, "FreeBSD"),
    (0xA6, "OpenBSD"),
    (0xA7, "NeXTSTEP"),
    (0xA8, "Darwin UFS"),
    (0xA9, "NetBSD"),
    (0xAB, "Darwin boot"),
    (0xAF, "HFS / HFS+"),
    (0xBC, "Acronis FAT32 LBA"),
    (0xBE, "Solaris boot"),
    (0xBF, "Solaris"),
    (0xDA, "Non-FS data"),
    (0xDE, "Dell Utility"),
    (0xEA, "Linux extended boot"),
    (0xEB, "BeOS fs"),
    (0xEE, "GPT"),
    (0xEF, "EFI (FAT-12/16/32)"),
    (0xF8, "EBBR protective"),
    (0xFB, "VMware VMFS"),
    (0xFC, "VMware VMKCORE"),
    (0xFD, "Linux raid autodetect"),
];

const GPT_NAMES: &[(&str, &str)] = &[
    ("C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "EFI System"),
    (
        "024DEE41-33E7-11D3-9D69-0008C781F39F",
        "MBR partition scheme",
    ),
    ("D3BFE2DE-3DAF-11DF-BA40-E3A556D89593", "Intel Fast Flash"),
    ("21686148-6449-6E6F-744E-656564454649", "BIOS boot"),
    ("9E1A2D38-C612-4316-AA26-8B49521E5A8B", "PowerPC PReP boot"),
    ("E3C9E316-0B5C-4DB8-817D-F92DF00215AE", "Microsoft reserved"),
    (
        "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7",
        "Microsoft basic data",
    ),
    (
        "5808C8AA-7E8F-42E0-85D2-E1E90434CFB3",
        "Microsoft LDM metadata",
    ),
    ("AF9B60A0-1431-4F62-BC68-3311714A69AD", "Microsoft LDM data"),
    (
        "DE94BBA4-06D1-4D40-A16A-BFD50179D6AC",
        "Windows recovery environment",
    ),
    (
        "E75CAF8F-F680-4CEE-AFA3-B001E56EFC2D",
        "Microsoft Storage Spaces",
    ),
    (
        "37AFFC90-EF7D-4E96-91C3-2D7AE055B174",
        "IBM General Parallel Fs",
    ),
    ("75894C1E-3AEB-11D3-B7C1-7B03A0000000", "HP-UX data"),
    ("0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", "Linux swap"),
    ("0FC63DAF-8483-4772-8E79-3D69D8477DE4", "Linux filesystem"),
    ("3B8F8425-20E0-4F3B-907F-1A25A76F98E8", "Linux server data"),
    ("44479540-F297-41B2-9AF7-D131D5F0458A", "Linux root (x86)"),
    (
        "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",
        "Linux root (x86-64)",
    ),
    ("69DAD710-2CE4-4E3C-B16C-21A1D49ABED3", "Linux root (ARM)"),
    (
        "B921B045-1DF0-41C3-AF44-4C6F280D3FAE",
        "Linux root (ARM-64)",
    ),
    (
        "8484680C-9521-48C6-9C11-B0720656F69E",
        "Linux /usr (x86-64)",
    ),
    (
        "BC13C2FF-59E6-4262-A352-B275FD6F7172",
        "Linux extended boot",
    ),
    ("8DA63339-0007-60C0-C436-083AC8230908", "Linux reserved"),
    ("933AC7E1-2EB4-4F13-B844-0E14E2AEF915", "Linux home"),
    ("A19D880F-05FC-4D3B-A006-743F0F84911E", "Linux RAID"),
    ("E6D6D379-F507-44C2-A23C-238F2A3DF928", "Linux LVM"),
    (
        "4D21B016-B534-45C2-A9FB-5C16E091FD2D",
        "Linux variable data",
    ),
    (
        "7EC6F557-3BC5-4ACA-B293-16EF5DF639D1",
        "Linux temporary data",
    ),
    ("CA7D7CCB-63ED-4C53-861C-1742536059CC", "Linux LUKS"),
    ("516E7CB4-6ECF-11D6-8FF8-00022D09712B", "FreeBSD data"),
    ("83BD6B9D-7F41-11DC-BE0B-001560B84F0F", "FreeBSD boot"),
    ("516E7CB5-6ECF-11D6-8FF8-00022D09712B", "FreeBSD swap"),
    ("516E7CB6-6ECF-11D6-8FF8-00022D09712B", "FreeBSD UFS"),
    ("516E7CBA-6ECF-11D6-8FF8-00022D09712B", "FreeBSD ZFS"),
    ("48465300-0000-11AA-AA11-00306543ECAC", "Apple HFS/HFS+"),
    ("7C3457EF-0000-11AA-AA11-00306543ECAC", "Apple APFS"),
    ("55465300-0000-11AA-AA11-00306543ECAC", "Apple UFS"),
    ("52414944-0000-11AA-AA11-00306543ECAC", "Apple RAID"),
    ("426F6F74-0000-11AA-AA11-00306543ECAC", "Apple boot"),
    (
        "6A898CC3-1DD2-11B2-99A6-080020736631",
        "Solaris /usr & Apple ZFS",
    ),
    ("6A85CF4D-1DD2-11B2-99A6-080020736631", "Solaris root"),
    ("49F48D32-B10E-11DC-B99B-0019D1879648", "NetBSD swap"),
    ("49F48D5A-B10E-11DC-B99B-0019D1879648", "NetBSD FFS"),
    ("824CC7A0-36A8-11E3-890A-952519AD3F61", "OpenBSD data"),
    ("AA31E02A-400F-11DB-9590-000C2911D1B8", "VMware VMFS"),
    ("9D275380-40AD-11DB-BF97-000C2911D1B8", "VMware Diagnostic"),
    ("FE3A2A5D-4F32-41A7-B725-ACCC3285A309", "ChromeOS kernel"),
    ("3CB8E202-3B7E-47DD-8A3C-7FF2A13CFCEC", "ChromeOS root fs"),
    ("2E0A753D-9E48-43B0-8337-B15192CB1B5E", "ChromeOS reserved"),
];

/// Name of an MBR partition type byte, or `"unknown"`.
pub(crate) fn mbr_type_name(kind: u8) -> &'static str {
    MBR_NAMES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("unknown", |(_, n)| n)
}

/// Name of a GPT partition type GUID (canonical uppercase text), or `"unknown"`.
pub(crate) fn gpt_type_name(guid: &str) -> &'static str {
    GPT_NAMES
        .iter()
        .find(|(g, _)| g.eq_ignore_ascii_case(guid))
        .map_or("unknown", |(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_names() {
        assert_eq!(mbr_type_name(0x83), "Linux");
        assert_eq!(mbr_type_name(0x0C), "W95 FAT32 (LBA)");
        assert_eq!(mbr_type_name(0x05), "Extended");
        assert_eq!(mbr_type_name(0x99), "unknown");
        assert_eq!(
            gpt_type_name("0FC63DAF-8483-4772-8E79-3D69D8477DE4"),
            "Linux filesystem"
        );
        assert_eq!(
            gpt_type_name("ebd0a0a2-b9e5-4433-87c0-68b6b72699c7"),
            "Microsoft basic data"
        );
        assert_eq!(
            gpt_type_name("00000000-1111-2222-3333-444444444444"),
            "unknown"
        );
        assert!(is_mbr_extended(0x0F) && !is_mbr_extended(0x83));
    }

    #[test]
    fn tables_have_no_duplicate_keys() {
        for (i, (k, _)) in MBR_NAMES.iter().enumerate() {
            assert!(!MBR_NAMES[i + 1..].iter().any(|(k2, _)| k2 == k), "{k:#x}");
        }
        for (i, (g, _)) in GPT_NAMES.iter().enumerate() {
            assert_eq!(g.len(), 36);
            assert!(!GPT_NAMES[i + 1..].iter().any(|(g2, _)| g2 == g), "{g}");
        }
    }
}
