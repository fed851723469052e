//! Budgeted reads of an assembled candidate for validation.

use platter_core::Source;

/// Reads from the array, counting bytes against a budget; failures become
/// notes instead of errors (validation reports, it does not fail).
pub(crate) struct Reader<'a> {
    src: &'a dyn Source,
    left: u64,
    /// Set once a read was refused for lack of budget.
    pub exhausted: bool,
    /// Read failures, with the offset.
    pub errors: Vec<String>,
    /// The last failed read was in range but could not be read (members
    /// missing and not rebuildable there, or budget used up).
    unreadable: bool,
}

/// Largest single read validation makes.
pub(crate) const MAX_READ: usize = 4 << 20;

impl<'a> Reader<'a> {
    pub fn new(src: &'a dyn Source, budget_bytes: u64) -> Self {
        Reader {
            src,
            left: budget_bytes,
            exhausted: false,
            errors: Vec::new(),
            unreadable: false,
        }
    }

    /// Size of the array in bytes.
    pub fn len(&self) -> u64 {
        self.src.len()
    }

    /// True while budget remains.
    pub fn has_budget(&self) -> bool {
        self.left > 0
    }

    /// Reads `len` bytes at `offset`, or `None` when the range is past the
    /// end, too large, over budget or unreadable.
    pub fn read(&mut self, offset: u64, len: usize) -> Option<Vec<u8>> {
        self.unreadable = false;
        if len > MAX_READ {
            return None;
        }
        let end = offset.checked_add(len as u64)?;
        if end > self.src.len() {
            return None;
        }
        if len as u64 > self.left {
            self.exhausted = true;
            self.unreadable = true;
            return None;
        }
        self.left -= len as u64;
        let mut buf = vec![0u8; len];
        match self.src.read_exact_at(&mut buf, offset) {
            Ok(()) => Some(buf),
            Err(e) => {
                if self.errors.len() < 8 {
                    self.errors.push(format!("read at {offset:#x}: {e}"));
                }
                self.unreadable = true;
                None
            }
        }
    }

    /// Counts a failed check for a read that returned nothing, unless the
    /// range was there but unreadable: data a candidate cannot read (two
    /// RAID6 members missing, budget used up) says nothing against it.
    pub fn fail(&self, v: &mut super::Validation) {
        if !self.unreadable {
            v.check(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::structures::Validation;

    /// 1 MiB whose second half cannot be read (a member missing there).
    #[derive(Debug)]
    struct HalfGone;

    impl Source for HalfGone {
        fn len(&self) -> u64 {
            1 << 20
        }
        fn name(&self) -> &str {
            "half gone"
        }
        fn read_at(&self, buf: &mut [u8], offset: u64) -> platter_core::Result<usize> {
            if offset >= 1 << 19 {
                return Err(platter_core::Error::Unreadable {
                    name: "half gone".into(),
                    offset,
                    len: buf.len() as u64,
                });
            }
            let n = buf.len().min((1 << 19) - offset as usize);
            buf[..n].fill(1);
            Ok(n)
        }
    }

    /// A read that fails because the data cannot be read counts no check;
    /// one past the end of the array counts a failed one.
    #[test]
    fn unreadable_data_is_no_failed_check() {
        let src = HalfGone;
        let mut r = Reader::new(&src, 1 << 20);
        let mut v = Validation::default();
        assert!(r.read(600 << 10, 512).is_none());
        r.fail(&mut v);
        assert_eq!(v.checks, 0);
        assert!(r.read(2 << 20, 512).is_none());
        r.fail(&mut v);
        assert_eq!((v.checks, v.passed), (1, 0));
        assert!(r.read(0, 512).is_some());
    }
}
