//! An independent DDF writer for tests, after mdadm `super-ddf.c`
//! (`struct ddf_header`, `phys_disk`, `virtual_disk`, `vd_config`,
//! `disk_data`, `calc_crc`): big-endian fields, unused bytes 0xFF, CRC-32
//! over each structure with its CRC field set to 0xFFFFFFFF.

use super::{Sparse, crc32, crc32_init, put};

pub const SIG_HEADER: u32 = 0xDE11DE11;

/// Sections, in blocks from the header (the same for both headers).
pub const CTRL_OFF: u32 = 1;
pub const PD_OFF: u32 = 2;
pub const PD_LEN: u32 = 8; // 63 entries
pub const VD_OFF: u32 = 10;
pub const VD_LEN: u32 = 8;
pub const CONF_OFF: u32 = 18;
pub const MAX_PART: u16 = 4;

#[derive(Debug, Clone)]
pub struct Pd {
    pub guid: [u8; 24],
    pub refnum: u32,
    pub pd_type: u16,
    pub state: u16,
    pub config_size: u64,
}

#[derive(Debug, Clone)]
pub struct Vd {
    pub guid: [u8; 24],
    pub number: u16,
    pub state: u8,
    pub init_state: u8,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Conf {
    pub vd_guid: [u8; 24],
    pub timestamp: u32,
    pub seq: u32,
    pub prim_count: u16,
    pub strip_exp: u8,
    pub prl: u8,
    pub rlq: u8,
    pub sec_count: u8,
    pub sec_seq: u8,
    pub srl: u8,
    pub blocks: u64,
    pub array_blocks: u64,
    /// The reference table (shorter than mppe: filled with 0xFFFFFFFF).
    pub refs: Vec<u32>,
    pub lbas: Vec<u64>,
    pub crc_delta: u32,
    /// Raw bytes written into the record before sealing: (offset, bytes).
    pub patch: Vec<(usize, Vec<u8>)>,
}

/// A complete DDF member image description.
#[derive(Debug, Clone)]
pub struct DdfImage {
    /// Block size in bytes (512, or 4096 for 4Kn members).
    pub bs: u64,
    /// Member size in blocks.
    pub blocks: u64,
    pub header_guid: [u8; 24],
    pub revision: [u8; 8],
    pub seq: u32,
    pub timestamp: u32,
    pub mppe: u16,
    pub pds: Vec<Pd>,
    pub vds: Vec<Vd>,
    pub confs: Vec<Conf>,
    pub this_refnum: u32,
    pub this_guid: [u8; 24],
    pub with_secondary: bool,
    /// Overrides for the secondary header's sequence number and open flag.
    pub secondary_seq: Option<u32>,
    pub primary_open: u8,
    /// Added to each header's correct CRC ([anchor, primary, secondary]).
    pub header_crc_delta: [u32; 3],
    /// Raw overrides: (byte offset in the primary header, bytes).
    pub primary_patch: Vec<(usize, Vec<u8>)>,
    /// Seal with mdadm's CRC variant (initial 0, no final inversion)
    /// instead of the standard CRC-32.
    pub crc_mdadm: bool,
}

pub fn guid(tag: &str) -> [u8; 24] {
    let mut g = [b' '; 24];
    g[..tag.len().min(24)].copy_from_slice(&tag.as_bytes()[..tag.len().min(24)]);
    g
}

impl DdfImage {
    /// A 4-disk RAID5 (RLQ 3, N-continue = md left-symmetric), strip 2^7
    /// blocks (64 KiB), data at LBA 0, 30 MiB per member, seen from disk
    /// `this` (0..4), on members of 40 MiB.
    pub fn raid5(this: usize) -> Self {
        let blocks = 40 * 2048;
        let pds: Vec<Pd> = (0..4)
            .map(|i| Pd {
                guid: guid(&format!("PLATTER-PD{i}")),
                refnum: 0x1000_0000 + i as u32 * 0x11,
                pd_type: 0x2,
                state: 0x1,
                config_size: 32 * 2048,
            })
            .collect();
        DdfImage {
            bs: 512,
            blocks,
            header_guid: guid("Linux-MD\u{7f}HDR"),
            revision: *b"01.02.00",
            seq: 7,
            timestamp: 1_000_000,
            mppe: 16,
            confs: vec![Conf {
                vd_guid: guid("Linux-MD VD0"),
                timestamp: 1_000_100,
                seq: 3,
                prim_count: 4,
                strip_exp: 7,
                prl: 0x05,
                rlq: 0x03,
                sec_count: 1,
                sec_seq: 0,
                srl: 0xff,
                blocks: 30 * 2048,
                array_blocks: 90 * 2048,
                refs: pds.iter().map(|p| p.refnum).collect(),
                lbas: vec![0; 4],
                crc_delta: 0,
                patch: Vec::new(),
            }],
            vds: vec![Vd {
                guid: guid("Linux-MD VD0"),
                number: 0,
                state: 0,
                init_state: 2,
                name: "bigvol".into(),
            }],
            this_refnum: pds[this].refnum,
            this_guid: pds[this].guid,
            pds,
            with_secondary: true,
            secondary_seq: None,
            primary_open: 0,
            header_crc_delta: [0; 3],
            primary_patch: Vec::new(),
            crc_mdadm: false,
        }
    }

    pub fn record_blocks(&self) -> u16 {
        (512 + 12 * u64::from(self.mppe)).div_ceil(self.bs) as u16
    }

    pub fn primary_lba(&self) -> u64 {
        self.blocks - 4096
    }

    pub fn secondary_lba(&self) -> u64 {
        self.blocks - 2048
    }

    fn conf_len(&self) -> u32 {
        u32::from(self.record_blocks()) * u32::from(MAX_PART)
    }

    fn data_off(&self) -> u32 {
        CONF_OFF + self.conf_len()
    }

    fn header(&self, typ: u8, seq: u32, open: u8, crc_delta: u32) -> Vec<u8> {
        let mut b = vec![0xffu8; 512];
        put(&mut b, 0, &SIG_HEADER.to_be_bytes());
        put(&mut b, 8, &self.header_guid);
        put(&mut b, 32, &self.revision);
        put(&mut b, 40, &seq.to_be_bytes());
        put(&mut b, 44, &self.timestamp.to_be_bytes());
        b[48] = open;
        b[49] = 0;
        b[50] = 0;
        put(&mut b, 96, &self.primary_lba().to_be_bytes());
        let sec = if self.with_secondary {
            self.secondary_lba()
        } else {
            u64::MAX
        };
        put(&mut b, 104, &sec.to_be_bytes());
        b[112] = typ;
        put(&mut b, 116, &32768u32.to_be_bytes());
        put(&mut b, 120, &u64::MAX.to_be_bytes());
        put(&mut b, 128, &63u16.to_be_bytes());
        put(&mut b, 130, &63u16.to_be_bytes());
        put(&mut b, 132, &MAX_PART.to_be_bytes());
        put(&mut b, 134, &self.record_blocks().to_be_bytes());
        put(&mut b, 136, &self.mppe.to_be_bytes());
        let sections: [(u32, u32); 8] = [
            (CTRL_OFF, 1),
            (PD_OFF, PD_LEN),
            (VD_OFF, VD_LEN),
            (CONF_OFF, self.conf_len()),
            (self.data_off(), 1),
            (u32::MAX, 0),
            (u32::MAX, 0),
            (u32::MAX, 0),
        ];
        for (i, (o, l)) in sections.iter().enumerate() {
            put(&mut b, 192 + 8 * i, &o.to_be_bytes());
            put(&mut b, 196 + 8 * i, &l.to_be_bytes());
        }
        seal(&mut b, crc_delta, self.crc_mdadm);
        b
    }

    fn controller(&self) -> Vec<u8> {
        let mut b = vec![0xffu8; 512];
        put(&mut b, 0, &0xAD111111u32.to_be_bytes());
        put(&mut b, 8, &guid("Linux-MD\u{1}CTRL"));
        put(
            &mut b,
            32,
            &[0x10, 0x00, 0x00, 0x73, 0x12, 0x34, 0x56, 0x78],
        );
        put(&mut b, 40, b"Platter Test    ");
        b[64..].fill(0);
        seal(&mut b, 0, self.crc_mdadm);
        b
    }

    fn pd_section(&self) -> Vec<u8> {
        let mut b = vec![0xffu8; PD_LEN as usize * self.bs as usize];
        put(&mut b, 0, &0x22222222u32.to_be_bytes());
        put(&mut b, 8, &(self.pds.len() as u16).to_be_bytes());
        put(&mut b, 10, &63u16.to_be_bytes());
        for (i, p) in self.pds.iter().enumerate() {
            let e = 64 * (i + 1);
            put(&mut b, e, &p.guid);
            put(&mut b, e + 24, &p.refnum.to_be_bytes());
            put(&mut b, e + 28, &p.pd_type.to_be_bytes());
            put(&mut b, e + 30, &p.state.to_be_bytes());
            put(&mut b, e + 32, &p.config_size.to_be_bytes());
            b[e + 40..e + 58].fill(0);
        }
        seal(&mut b, 0, self.crc_mdadm);
        b
    }

    fn vd_section(&self) -> Vec<u8> {
        let mut b = vec![0xffu8; VD_LEN as usize * self.bs as usize];
        put(&mut b, 0, &0xDDDDDDDDu32.to_be_bytes());
        put(&mut b, 8, &(self.vds.len() as u16).to_be_bytes());
        put(&mut b, 10, &63u16.to_be_bytes());
        for (i, v) in self.vds.iter().enumerate() {
            let e = 64 * (i + 1);
            put(&mut b, e, &v.guid);
            put(&mut b, e + 24, &v.number.to_be_bytes());
            put(&mut b, e + 28, &0u32.to_be_bytes());
            b[e + 32] = v.state;
            b[e + 33] = v.init_state;
            let mut name = [b' '; 16];
            name[..v.name.len()].copy_from_slice(v.name.as_bytes());
            put(&mut b, e + 48, &name);
        }
        seal(&mut b, 0, self.crc_mdadm);
        b
    }

    fn conf_section(&self) -> Vec<u8> {
        let rec = usize::from(self.record_blocks()) * self.bs as usize;
        let mut out = vec![0xffu8; rec * usize::from(MAX_PART)];
        let mppe = usize::from(self.mppe);
        for (i, c) in self.confs.iter().enumerate() {
            let b = &mut out[i * rec..(i + 1) * rec];
            put(b, 0, &0xEEEEEEEEu32.to_be_bytes());
            put(b, 8, &c.vd_guid);
            put(b, 32, &c.timestamp.to_be_bytes());
            put(b, 36, &c.seq.to_be_bytes());
            put(b, 64, &c.prim_count.to_be_bytes());
            b[66] = c.strip_exp;
            b[67] = c.prl;
            b[68] = c.rlq;
            b[69] = c.sec_count;
            b[70] = c.sec_seq;
            b[71] = c.srl;
            put(b, 72, &c.blocks.to_be_bytes());
            put(b, 80, &c.array_blocks.to_be_bytes());
            b[128..137].fill(0);
            for j in 0..mppe {
                let r = c.refs.get(j).copied().unwrap_or(u32::MAX);
                put(b, 512 + 4 * j, &r.to_be_bytes());
                let l = c.lbas.get(j).copied().unwrap_or(u64::MAX);
                put(b, 512 + 4 * mppe + 8 * j, &l.to_be_bytes());
            }
            for (o, v) in &c.patch {
                put(b, *o, v);
            }
            seal(b, c.crc_delta, self.crc_mdadm);
        }
        out
    }

    fn disk_data(&self) -> Vec<u8> {
        let mut b = vec![0xffu8; 512];
        put(&mut b, 0, &0x33333333u32.to_be_bytes());
        put(&mut b, 8, &self.this_guid);
        put(&mut b, 32, &self.this_refnum.to_be_bytes());
        b[36] = 0;
        b[37] = 0;
        seal(&mut b, 0, self.crc_mdadm);
        b
    }

    /// The member, as a sparse source named `name`.
    pub fn member(&self, name: &str) -> Sparse {
        let bs = self.bs;
        let mut m = Sparse::new(name, self.blocks * bs);
        let mut heads = vec![(self.primary_lba(), 1u8, self.seq, self.primary_open, 1)];
        if self.with_secondary {
            heads.push((
                self.secondary_lba(),
                2,
                self.secondary_seq.unwrap_or(self.seq),
                0,
                2,
            ));
        }
        for (lba, typ, seq, open, which) in heads {
            let mut h = self.header(typ, seq, open, self.header_crc_delta[which]);
            if typ == 1 && !self.primary_patch.is_empty() {
                for (o, v) in &self.primary_patch {
                    put(&mut h, *o, v);
                }
            }
            let at = |blk: u32| (lba + u64::from(blk)) * bs;
            m = m
                .with(lba * bs, h)
                .with(at(CTRL_OFF), self.controller())
                .with(at(PD_OFF), self.pd_section())
                .with(at(VD_OFF), self.vd_section())
                .with(at(CONF_OFF), self.conf_section())
                .with(at(self.data_off()), self.disk_data());
        }
        let anchor = self.header(0, self.seq, 0, self.header_crc_delta[0]);
        m.with((self.blocks - 1) * bs, anchor)
    }
}

/// Stores the DDF CRC of `b` (CRC field as 0xFFFFFFFF) plus `delta`:
/// standard CRC-32, or mdadm's variant (register from 0, no inversion).
pub fn seal(b: &mut [u8], delta: u32, mdadm: bool) {
    b[4..8].fill(0xff);
    let c = if mdadm { !crc32_init(b, 0) } else { crc32(b) };
    let c = c.wrapping_add(delta);
    b[4..8].copy_from_slice(&c.to_be_bytes());
}
