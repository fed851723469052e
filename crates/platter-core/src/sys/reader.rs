//! [`SourceReader`]: a [`Source`] as a `std::io::Read + Seek` stream, for
//! libraries that want streams.

use std::io::{self, Read, Seek, SeekFrom};

use crate::source::Source;

/// Adapts a positional [`Source`] to `Read + Seek`.
///
/// Seeking past the end is allowed (reads there return 0 bytes, like a
/// file); seeking before the start is an `InvalidInput` error. Source errors
/// surface as `io::Error`s wrapping the [`crate::Error`], so the file name and
/// offset survive.
///
/// ```
/// use platter_core::{MemSource, sys::SourceReader};
/// use std::io::{Read, Seek, SeekFrom};
///
/// let mut r = SourceReader::new(MemSource::new("m", b"0123456789".to_vec()));
/// r.seek(SeekFrom::End(-3)).unwrap();
/// let mut s = String::new();
/// r.read_to_string(&mut s).unwrap();
/// assert_eq!(s, "789");
/// ```
#[derive(Debug)]
pub struct SourceReader<S: Source> {
    src: S,
    pos: u64,
}

impl<S: Source> SourceReader<S> {
    /// Wraps `src`, positioned at its start.
    pub fn new(src: S) -> Self {
        Self { src, pos: 0 }
    }

    /// The current position in bytes.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The wrapped source.
    pub fn get_ref(&self) -> &S {
        &self.src
    }

    /// Unwraps the source.
    pub fn into_inner(self) -> S {
        self.src
    }
}

impl<S: Source> Read for SourceReader<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.src.read_at(buf, self.pos).map_err(io::Error::other)?;
        // `n` bytes were read below `len()`, so the sum cannot overflow.
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

impl<S: Source> Seek for SourceReader<S> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let (base, delta) = match pos {
            SeekFrom::Start(p) => {
                self.pos = p;
                return Ok(p);
            }
            SeekFrom::End(d) => (self.src.len(), d),
            SeekFrom::Current(d) => (self.pos, d),
        };
        let new = base.checked_add_signed(delta).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{}: seek to {base} {delta:+} is before the start or overflows",
                    self.src.name()
                ),
            )
        })?;
        self.pos = new;
        Ok(new)
    }

    fn stream_position(&mut self) -> io::Result<u64> {
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemSource;

    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 256) as u8).collect()
    }

    #[test]
    fn read_seek_round_trip() {
        let data = bytes(10_000);
        let mut r = SourceReader::new(MemSource::new("m", data.clone()));
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all, data);
        assert_eq!(r.position(), 10_000);

        assert_eq!(r.seek(SeekFrom::Start(1234)).unwrap(), 1234);
        let mut buf = [0u8; 100];
        r.read_exact(&mut buf).unwrap();
        assert_eq!(&buf[..], &data[1234..1334]);

        assert_eq!(r.seek(SeekFrom::Current(-50)).unwrap(), 1284);
        r.read_exact(&mut buf).unwrap();
        assert_eq!(&buf[..], &data[1284..1384]);

        assert_eq!(r.seek(SeekFrom::End(-10)).unwrap(), 9990);
        let mut tail = Vec::new();
        r.read_to_end(&mut tail).unwrap();
        assert_eq!(tail, &data[9990..]);
    }

    #[test]
    fn past_end_reads_nothing_and_before_start_fails() {
        let mut r = SourceReader::new(MemSource::new("m", bytes(10)));
        assert_eq!(r.seek(SeekFrom::End(5)).unwrap(), 15);
        let mut buf = [0u8; 4];
        assert_eq!(r.read(&mut buf).unwrap(), 0);
        let err = r.seek(SeekFrom::Current(-16)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("m:"), "{err}");
        assert_eq!(r.position(), 15, "a failed seek does not move");
        let err = r
            .seek(SeekFrom::Start(u64::MAX))
            .and_then(|_| r.seek(SeekFrom::Current(1)));
        assert!(err.is_err());
    }

    #[test]
    fn errors_keep_the_source_error() {
        #[derive(Debug)]
        struct Bad;
        impl Source for Bad {
            fn len(&self) -> u64 {
                100
            }
            fn name(&self) -> &str {
                "bad.img"
            }
            fn read_at(&self, _: &mut [u8], offset: u64) -> crate::Result<usize> {
                Err(crate::Error::Unreadable {
                    name: "bad.img".into(),
                    offset,
                    len: 1,
                })
            }
        }
        let mut r = SourceReader::new(Bad);
        r.seek(SeekFrom::Start(0x20)).unwrap();
        let err = r.read(&mut [0u8; 8]).unwrap_err();
        let inner = err
            .get_ref()
            .unwrap()
            .downcast_ref::<crate::Error>()
            .unwrap();
        assert!(matches!(
            inner,
            crate::Error::Unreadable { offset: 0x20, .. }
        ));
        assert!(err.to_string().contains("bad.img"));
    }
}
