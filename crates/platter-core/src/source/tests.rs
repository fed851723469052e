use super::*;
use proptest::prelude::*;

fn mem(name: &str, data: Vec<u8>) -> SharedSource {
    Arc::new(MemSource::new(name, data))
}

/// A test source with an unreadable byte range, like a disk with bad sectors.
#[derive(Debug)]
struct Holey {
    data: Vec<u8>,
    bad: (u64, u64),
}

impl Source for Holey {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }
    fn name(&self) -> &str {
        "holey"
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let (s, e) = clip(self.len(), offset, buf.len() as u64);
        if s < self.bad.1 && e > self.bad.0 {
            return Err(Error::Read {
                name: "holey".into(),
                offset,
                len: buf.len() as u64,
                source: std::io::Error::from_raw_os_error(5),
            });
        }
        buf[..(e - s) as usize].copy_from_slice(&self.data[s as usize..e as usize]);
        Ok((e - s) as usize)
    }
}

#[test]
fn window_bounds_are_checked() {
    let d = mem("d", vec![1; 100]);
    assert!(Window::new(d.clone(), 90, 10).is_ok());
    assert!(matches!(
        Window::new(d.clone(), 90, 11),
        Err(Error::OutOfBounds { .. })
    ));
    assert!(Window::new(d, u64::MAX, 2).is_err());
}

#[test]
fn reads_past_end_are_short_or_empty() {
    let d = MemSource::new("d", vec![7; 10]);
    let mut buf = [0u8; 8];
    assert_eq!(d.read_at(&mut buf, 6).unwrap(), 4);
    assert_eq!(d.read_at(&mut buf, 10).unwrap(), 0);
    assert_eq!(d.read_at(&mut buf, u64::MAX).unwrap(), 0);
    assert!(matches!(
        d.read_exact_at(&mut buf, 6),
        Err(Error::Truncated { got: 4, .. })
    ));
}

#[test]
fn zero_source_reports_zero_extents() {
    let z = ZeroSource::new("z", 1000);
    let mut buf = [9u8; 16];
    z.read_exact_at(&mut buf, 984).unwrap();
    assert_eq!(buf, [0; 16]);
    assert_eq!(
        z.extents(10, 5000).unwrap(),
        vec![Extent {
            offset: 10,
            len: 990,
            kind: ExtentKind::Zero
        }]
    );
}

#[test]
fn concat_merges_extents_across_parts() {
    let c = Concat::new(
        "c",
        vec![
            mem("a", vec![1; 10]),
            Arc::new(ZeroSource::new("z", 5)),
            Arc::new(ZeroSource::new("z2", 5)),
            mem("b", vec![2; 3]),
        ],
    );
    let map = c.extents(0, 100).unwrap();
    let kinds: Vec<_> = map.iter().map(|e| (e.offset, e.len, e.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (0, 10, ExtentKind::Data),
            (10, 10, ExtentKind::Zero),
            (20, 3, ExtentKind::Data)
        ]
    );
}

#[test]
fn read_filled_narrows_errors_to_sectors() {
    let data: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8 + 1).collect();
    let h = Holey {
        data: data.clone(),
        bad: (1024 + 10, 1024 + 20),
    };
    let mut buf = vec![0u8; 4096];
    let (n, bad) = read_filled(&h, &mut buf, 0, 0xEE, 512).unwrap();
    assert_eq!(n, 4096);
    assert_eq!(
        bad,
        vec![Extent {
            offset: 1024,
            len: 512,
            kind: ExtentKind::Unreadable
        }]
    );
    assert_eq!(&buf[..1024], &data[..1024]);
    assert!(buf[1024..1536].iter().all(|&b| b == 0xEE));
    assert_eq!(&buf[1536..], &data[1536..]);
}

proptest! {
    #[test]
    fn concat_equals_concatenation(
        parts in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..6),
        offset in 0u64..1600,
        len in 0usize..1600,
    ) {
        let whole: Vec<u8> = parts.concat();
        let srcs: Vec<SharedSource> = parts.iter().enumerate()
            .map(|(i, p)| mem(&format!("p{i}"), p.clone())).collect();
        let c = Concat::new("c", srcs);
        prop_assert_eq!(c.len(), whole.len() as u64);
        let mut buf = vec![0u8; len];
        let n = c.read_at(&mut buf, offset).unwrap();
        let (s, e) = clip(whole.len() as u64, offset, len as u64);
        prop_assert_eq!(n as u64, e - s);
        prop_assert_eq!(&buf[..n], &whole[s as usize..e as usize]);
        let map = c.extents(offset, len as u64).unwrap();
        let total: u64 = map.iter().map(|e| e.len).sum();
        prop_assert_eq!(total, e - s);
    }

    #[test]
    fn window_equals_slice(
        data in prop::collection::vec(any::<u8>(), 1..2000),
        a in 0usize..2000, b in 0usize..2000, off in 0u64..2100, len in 0usize..2100,
    ) {
        let (lo, hi) = (a.min(b).min(data.len()), a.max(b).min(data.len()));
        let w = Window::new(mem("d", data.clone()), lo as u64, (hi - lo) as u64).unwrap();
        let slice = &data[lo..hi];
        let mut buf = vec![0u8; len];
        let n = w.read_at(&mut buf, off).unwrap();
        let (s, e) = clip(slice.len() as u64, off, len as u64);
        prop_assert_eq!(&buf[..n], &slice[s as usize..e as usize]);
    }
}
