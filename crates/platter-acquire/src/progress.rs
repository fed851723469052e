//! Progress reporting hooks, so the CLI can draw a bar.

/// Receives progress from an acquisition. Called from the reading thread.
pub trait Progress: Sync {
    /// A pass starts; `total_bytes` is the work it has to do.
    fn phase(&self, name: &str, total_bytes: u64);
    /// Bytes of the current pass done so far.
    fn advance(&self, done_bytes: u64);
    /// Bytes known bad so far (sectors not yet rescued).
    fn bad_bytes(&self, bytes: u64);
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn phase(&self, _name: &str, _total_bytes: u64) {}
    fn advance(&self, _done_bytes: u64) {}
    fn bad_bytes(&self, _bytes: u64) {}
}
