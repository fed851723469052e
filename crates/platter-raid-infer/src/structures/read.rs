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
        if len > MAX_READ {
            return None;
        }
        let end = offset.checked_add(len as u64)?;
        if end > self.src.len() {
            return None;
        }
        if len as u64 > self.left {
            self.exhausted = true;
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
                None
            }
        }
    }
}
