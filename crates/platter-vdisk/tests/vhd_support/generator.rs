//! An independent writer of VHD differencing disks and of dirty VHDX logs,
//! written from the specifications for the tests (qemu-img cannot make
//! either). It shares no code with the reader.
#![allow(dead_code)]

/// VHD checksum: one's complement of the byte sum, checksum field as zero.
fn vhd_sum(b: &[u8]) -> u32 {
    !b.iter().fold(0u32, |a, &x| a.wrapping_add(u32::from(x)))
}

/// A VHD to build: dynamic, or differencing when `parent` is set.
pub struct VhdSpec {
    pub size: u64,
    pub block_size: u32,
    pub id: [u8; 16],
    /// Parent unique id and the relative path stored in the W2ru locator.
    pub parent: Option<([u8; 16], String)>,
    /// 512-byte sectors stored in this file (guest sector number, bytes).
    pub sectors: Vec<(u64, [u8; 512])>,
}

fn footer(spec: &VhdSpec, disk_type: u32) -> [u8; 512] {
    let mut f = [0u8; 512];
    f[..8].copy_from_slice(b"conectix");
    f[8..12].copy_from_slice(&2u32.to_be_bytes());
    f[12..16].copy_from_slice(&0x0001_0000u32.to_be_bytes());
    f[16..24].copy_from_slice(&512u64.to_be_bytes());
    f[28..32].copy_from_slice(b"test");
    f[36..40].copy_from_slice(b"Wi2k");
    f[40..48].copy_from_slice(&spec.size.to_be_bytes());
    f[48..56].copy_from_slice(&spec.size.to_be_bytes());
    f[56..60].copy_from_slice(&[0xff, 0xff, 16, 255]);
    f[60..64].copy_from_slice(&disk_type.to_be_bytes());
    f[68..84].copy_from_slice(&spec.id);
    let s = vhd_sum(&f);
    f[64..68].copy_from_slice(&s.to_be_bytes());
    f
}

/// Builds the VHD file bytes.
pub fn build_vhd(spec: &VhdSpec) -> Vec<u8> {
    let bs = u64::from(spec.block_size);
    let blocks = spec.size.div_ceil(bs);
    let disk_type = if spec.parent.is_some() { 4 } else { 3 };
    let foot = footer(spec, disk_type);
    let bat_at = 512 + 1024;
    let bat_bytes = (blocks * 4).next_multiple_of(512);
    let loc_at = bat_at + bat_bytes;
    let loc_data: Vec<u8> = spec
        .parent
        .as_ref()
        .map(|(_, name)| name.encode_utf16().flat_map(u16::to_le_bytes).collect())
        .unwrap_or_default();
    let loc_space = (loc_data.len() as u64).next_multiple_of(512);
    let mut out = vec![0u8; (loc_at + loc_space) as usize];
    out[..512].copy_from_slice(&foot);
    out[loc_at as usize..loc_at as usize + loc_data.len()].copy_from_slice(&loc_data);
    // Dynamic header.
    let mut h = [0u8; 1024];
    h[..8].copy_from_slice(b"cxsparse");
    h[8..16].copy_from_slice(&u64::MAX.to_be_bytes());
    h[16..24].copy_from_slice(&bat_at.to_be_bytes());
    h[24..28].copy_from_slice(&0x0001_0000u32.to_be_bytes());
    h[28..32].copy_from_slice(&(blocks as u32).to_be_bytes());
    h[32..36].copy_from_slice(&spec.block_size.to_be_bytes());
    if let Some((pid, name)) = &spec.parent {
        h[40..56].copy_from_slice(pid);
        // The unicode name holds a decoy: the locator must be preferred.
        let decoy: Vec<u8> = "decoy-name.vhd"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        h[64..64 + decoy.len()].copy_from_slice(&decoy);
        let _ = name;
        let e = 576;
        h[e..e + 4].copy_from_slice(b"W2ru");
        h[e + 4..e + 8].copy_from_slice(&((loc_space / 512) as u32).to_be_bytes());
        h[e + 8..e + 12].copy_from_slice(&(loc_data.len() as u32).to_be_bytes());
        h[e + 16..e + 24].copy_from_slice(&loc_at.to_be_bytes());
    }
    let s = vhd_sum(&h);
    h[36..40].copy_from_slice(&s.to_be_bytes());
    out[512..1536].copy_from_slice(&h);
    // Blocks: bitmap (512 bytes for up to 4096 sectors), then data.
    let spb = bs / 512;
    let bitmap_bytes = (spb / 8).next_multiple_of(512);
    let mut bat = vec![u32::MAX; blocks as usize];
    for (sector, data) in &spec.sectors {
        let b = (sector / spb) as usize;
        if bat[b] == u32::MAX {
            bat[b] = (out.len() / 512) as u32;
            out.resize(out.len() + (bitmap_bytes + bs) as usize, 0);
        }
        let base = bat[b] as usize * 512;
        let within = (sector % spb) as usize;
        out[base + within / 8] |= 0x80 >> (within % 8);
        let at = base + bitmap_bytes as usize + within * 512;
        out[at..at + 512].copy_from_slice(data);
    }
    for (i, e) in bat.iter().enumerate() {
        let at = bat_at as usize + i * 4;
        out[at..at + 4].copy_from_slice(&e.to_be_bytes());
    }
    out.extend_from_slice(&foot);
    out
}

// ---- VHDX -----------------------------------------------------------------

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn put_crc(b: &mut [u8], at: usize) {
    b[at..at + 4].fill(0);
    let c = crc32c::crc32c(b);
    b[at..at + 4].copy_from_slice(&c.to_le_bytes());
}

/// Where a VHDX keeps things, read from its current header and region
/// table (parsed here independently of the reader).
pub struct VhdxLayout {
    pub header_at: usize,
    pub log_offset: u64,
    pub log_length: u64,
    pub bat_offset: u64,
}

pub fn vhdx_layout(file: &[u8]) -> VhdxLayout {
    let h1 = le64(file, 0x10000 + 8);
    let h2 = le64(file, 0x20000 + 8);
    let header_at = if h1 >= h2 { 0x10000 } else { 0x20000 };
    let rt = 0x30000;
    let count = le32(file, rt + 8) as usize;
    let mut bat_offset = 0;
    for i in 0..count {
        let e = rt + 16 + i * 32;
        // BAT GUID 2DC27766-F623-4200-9D64-115E9BFD4A08, first 4 bytes LE.
        if file[e..e + 4] == [0x66, 0x77, 0xc2, 0x2d] {
            bat_offset = le64(file, e + 16);
        }
    }
    VhdxLayout {
        header_at,
        log_offset: le64(file, header_at + 72),
        log_length: u64::from(le32(file, header_at + 68)),
        bat_offset,
    }
}

/// One log write: zeros or 4 KiB of data at a file offset.
pub enum LogWrite {
    Zero { offset: u64, len: u64 },
    Data { offset: u64, bytes: Vec<u8> },
}

/// A log entry (spec 2.3.1): header, descriptors, data sectors.
pub fn log_entry(
    log_guid: &[u8; 16],
    sequence: u64,
    tail: u32,
    file_len: u64,
    writes: &[LogWrite],
) -> Vec<u8> {
    let desc_sectors = (64 + 32 * writes.len()).div_ceil(4096);
    let data: Vec<&Vec<u8>> = writes
        .iter()
        .filter_map(|w| match w {
            LogWrite::Data { bytes, .. } => Some(bytes),
            LogWrite::Zero { .. } => None,
        })
        .collect();
    let total = (desc_sectors + data.len()) * 4096;
    let mut e = vec![0u8; total];
    e[..4].copy_from_slice(b"loge");
    e[8..12].copy_from_slice(&(total as u32).to_le_bytes());
    e[12..16].copy_from_slice(&tail.to_le_bytes());
    e[16..24].copy_from_slice(&sequence.to_le_bytes());
    e[24..28].copy_from_slice(&(writes.len() as u32).to_le_bytes());
    e[32..48].copy_from_slice(log_guid);
    e[48..56].copy_from_slice(&file_len.to_le_bytes());
    e[56..64].copy_from_slice(&file_len.to_le_bytes());
    let mut k = 0;
    for (i, w) in writes.iter().enumerate() {
        let d = 64 + 32 * i;
        match w {
            LogWrite::Zero { offset, len } => {
                e[d..d + 4].copy_from_slice(b"zero");
                e[d + 8..d + 16].copy_from_slice(&len.to_le_bytes());
                e[d + 16..d + 24].copy_from_slice(&offset.to_le_bytes());
            }
            LogWrite::Data { offset, bytes } => {
                e[d..d + 4].copy_from_slice(b"desc");
                e[d + 4..d + 8].copy_from_slice(&bytes[4092..4096]);
                e[d + 8..d + 16].copy_from_slice(&bytes[..8]);
                e[d + 16..d + 24].copy_from_slice(&offset.to_le_bytes());
                let s = (desc_sectors + k) * 4096;
                e[s..s + 4].copy_from_slice(b"data");
                e[s + 4..s + 8].copy_from_slice(&((sequence >> 32) as u32).to_le_bytes());
                e[s + 8..s + 4092].copy_from_slice(&bytes[8..4092]);
                e[s + 4092..s + 4096].copy_from_slice(&(sequence as u32).to_le_bytes());
                k += 1;
            }
        }
        e[d + 24..d + 32].copy_from_slice(&sequence.to_le_bytes());
    }
    put_crc(&mut e, 4);
    e
}

/// Marks both headers of `file` dirty with `log_guid` (new checksums).
pub fn set_log_guid(file: &mut [u8], log_guid: &[u8; 16]) {
    for at in [0x10000usize, 0x20000] {
        let h = &mut file[at..at + 4096];
        h[48..64].copy_from_slice(log_guid);
        put_crc(h, 4);
    }
}

/// A GUID text in on-disk byte order (Data1..3 little-endian).
pub fn guid_bytes(text: &str) -> [u8; 16] {
    let hex: Vec<u8> = text
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect::<String>()
        .as_bytes()
        .chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
        .collect();
    let mut g = [0u8; 16];
    g[..4].copy_from_slice(&[hex[3], hex[2], hex[1], hex[0]]);
    g[4..6].copy_from_slice(&[hex[5], hex[4]]);
    g[6..8].copy_from_slice(&[hex[7], hex[6]]);
    g[8..].copy_from_slice(&hex[8..16]);
    g
}

/// On-disk GUID bytes as `{xxxxxxxx-xxxx-...}` text.
pub fn guid_string(g: &[u8]) -> String {
    format!(
        "{{{:08x}-{:04x}-{:04x}-{}-{}}}",
        u32::from_le_bytes(g[..4].try_into().unwrap()),
        u16::from_le_bytes(g[4..6].try_into().unwrap()),
        u16::from_le_bytes(g[6..8].try_into().unwrap()),
        g[8..10]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
        g[10..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// One payload block of a generated differencing VHDX.
pub enum VhdxBlock {
    /// State 6 with these 1 MiB.
    Full(Vec<u8>),
    /// State 7: these 512-byte sectors (index in block, bytes).
    Partial(Vec<(usize, [u8; 512])>),
    /// A bare state (0 not present, 2 zero, 3 unmapped).
    State(u64),
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Builds a differencing VHDX (1 MiB blocks, 512-byte sectors) over a
/// parent with `parent_linkage` (its DataWriteGuid text), found at
/// `relative_path`.
pub fn build_vhdx_diff(
    size: u64,
    parent_linkage: &str,
    relative_path: &str,
    blocks: &[VhdxBlock],
) -> Vec<u8> {
    const MIB: usize = 1 << 20;
    let nblocks = size.div_ceil(MIB as u64) as usize;
    let mut f = vec![0u8; 5 * MIB];
    f[..8].copy_from_slice(b"vhdxfile");
    for (at, seq) in [(0x10000usize, 1u64), (0x20000, 2)] {
        let h = &mut f[at..at + 4096];
        h[..4].copy_from_slice(b"head");
        h[8..16].copy_from_slice(&seq.to_le_bytes());
        h[16..32].fill(0x11);
        h[32..48].fill(0x22);
        h[66..68].copy_from_slice(&1u16.to_le_bytes());
        h[68..72].copy_from_slice(&(MIB as u32).to_le_bytes());
        h[72..80].copy_from_slice(&(MIB as u64).to_le_bytes());
        put_crc(h, 4);
    }
    let bat_guid = guid_bytes("2DC27766-F623-4200-9D64-115E9BFD4A08");
    let meta_guid = guid_bytes("8B7CA206-4790-4B9A-B8FE-575F050F886E");
    for at in [0x30000usize, 0x40000] {
        let r = &mut f[at..at + 0x10000];
        r[..4].copy_from_slice(b"regi");
        r[8..12].copy_from_slice(&2u32.to_le_bytes());
        for (i, (g, off)) in [(bat_guid, 3 * MIB), (meta_guid, 2 * MIB)]
            .iter()
            .enumerate()
        {
            let e = 16 + i * 32;
            r[e..e + 16].copy_from_slice(g);
            r[e + 16..e + 24].copy_from_slice(&(*off as u64).to_le_bytes());
            r[e + 24..e + 28].copy_from_slice(&(MIB as u32).to_le_bytes());
            r[e + 28..e + 32].copy_from_slice(&1u32.to_le_bytes());
        }
        put_crc(r, 4);
    }
    // Metadata region at 2 MiB: table, then items from 64 KiB.
    let mut items: Vec<([u8; 16], Vec<u8>)> = vec![
        (
            guid_bytes("CAA16737-FA36-4D43-B3B6-33F0AA44E76B"),
            [(MIB as u32).to_le_bytes(), 2u32.to_le_bytes()].concat(),
        ),
        (
            guid_bytes("2FA54224-CD1B-4876-B211-5DBED83BF4B8"),
            size.to_le_bytes().to_vec(),
        ),
        (
            guid_bytes("BECA12AB-B2E6-4523-93EF-C309E000C746"),
            vec![0x33; 16],
        ),
        (
            guid_bytes("8141BF1D-A96F-4709-BA47-F233A8FAAB5F"),
            512u32.to_le_bytes().to_vec(),
        ),
        (
            guid_bytes("CDA348C7-445D-4471-9CC9-E9885251C556"),
            4096u32.to_le_bytes().to_vec(),
        ),
    ];
    let kv = [
        ("parent_linkage", parent_linkage.to_string()),
        ("relative_path", relative_path.to_string()),
        ("absolute_win32_path", format!("C:\\VMs\\{relative_path}")),
    ];
    let mut loc = guid_bytes("B04AEFB7-D19E-4A81-B789-25B8E9445913").to_vec();
    loc.extend_from_slice(&0u16.to_le_bytes());
    loc.extend_from_slice(&(kv.len() as u16).to_le_bytes());
    let mut strings = Vec::new();
    let strings_at = 20 + kv.len() * 12;
    for (k, v) in &kv {
        let (kb, vb) = (utf16(k), utf16(v));
        let ko = strings_at + strings.len();
        strings.extend_from_slice(&kb);
        let vo = strings_at + strings.len();
        strings.extend_from_slice(&vb);
        loc.extend_from_slice(&(ko as u32).to_le_bytes());
        loc.extend_from_slice(&(vo as u32).to_le_bytes());
        loc.extend_from_slice(&(kb.len() as u16).to_le_bytes());
        loc.extend_from_slice(&(vb.len() as u16).to_le_bytes());
    }
    loc.extend_from_slice(&strings);
    items.push((guid_bytes("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C"), loc));
    let m = 2 * MIB;
    f[m..m + 8].copy_from_slice(b"metadata");
    f[m + 10..m + 12].copy_from_slice(&(items.len() as u16).to_le_bytes());
    let mut data_at = 0x10000usize;
    for (i, (g, data)) in items.iter().enumerate() {
        let e = m + 32 + i * 32;
        f[e..e + 16].copy_from_slice(g);
        f[e + 16..e + 20].copy_from_slice(&(data_at as u32).to_le_bytes());
        f[e + 20..e + 24].copy_from_slice(&(data.len() as u32).to_le_bytes());
        f[e + 24..e + 28].copy_from_slice(&6u32.to_le_bytes()); // virtual disk, required
        f[m + data_at..m + data_at + data.len()].copy_from_slice(data);
        data_at += data.len().next_multiple_of(8);
    }
    // BAT at 3 MiB; chunk ratio 4096; the sector bitmap of chunk 0 at 4 MiB.
    let bat = 3 * MIB;
    let sb_at = 4 * MIB;
    let put = |f: &mut Vec<u8>, i: usize, v: u64| {
        f[bat + i * 8..bat + i * 8 + 8].copy_from_slice(&v.to_le_bytes())
    };
    put(&mut f, 4096, sb_at as u64 | 6);
    for (i, b) in blocks.iter().enumerate().take(nblocks) {
        match b {
            VhdxBlock::State(s) => put(&mut f, i, *s),
            VhdxBlock::Full(data) => {
                let at = f.len();
                f.extend_from_slice(data);
                put(&mut f, i, at as u64 | 6);
            }
            VhdxBlock::Partial(sectors) => {
                let at = f.len();
                f.resize(at + MIB, 0);
                for (s, d) in sectors {
                    f[at + s * 512..at + s * 512 + 512].copy_from_slice(d);
                    let bit = i * 2048 + s;
                    f[sb_at + bit / 8] |= 1 << (bit % 8);
                }
                put(&mut f, i, at as u64 | 7);
            }
        }
    }
    f
}
