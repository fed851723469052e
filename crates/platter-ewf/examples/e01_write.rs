//! Writes a file or device as an E01 image with [`platter_ewf::EwfWriter`]:
//! the writer bench (`benches/e01_compare.sh`) until `platter acquire
//! --format e01` exists.
//!
//! ```text
//! cargo run --release -p platter-ewf --example e01_write -- SOURCE TARGET.E01 \
//!     [none|fast|best] [SEGMENT_BYTES] [THREADS]
//! ```
//!
//! MD5 and SHA-1 are computed on a separate thread while the writer
//! compresses, like an acquisition does.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::sync::mpsc::sync_channel;

use md5::Digest as _;
use platter_ewf::{Compression, EwfWriter, WriteOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: e01_write SOURCE TARGET.E01 [none|fast|best] [SEGMENT_BYTES] [THREADS]");
        std::process::exit(2);
    }
    let source = PathBuf::from(&args[0]);
    let target = PathBuf::from(&args[1]);
    let compression = match args.get(2).map(String::as_str) {
        None | Some("fast") => Compression::Fast,
        Some("best") => Compression::Best,
        Some("none") => Compression::None,
        Some(other) => return Err(format!("unknown compression {other}").into()),
    };
    let segment_size = match args.get(3) {
        Some(s) => s.parse()?,
        None => platter_ewf::DEFAULT_SEGMENT_SIZE,
    };
    let threads = match args.get(4) {
        Some(s) => s.parse()?,
        None => 0,
    };
    let mut file = File::open(&source)?;
    let media_size = file.metadata()?.len();
    let opts = WriteOptions {
        segment_size,
        compression,
        media_size,
        threads,
        ..Default::default()
    };
    let start = std::time::Instant::now();
    let mut w = EwfWriter::create(&target, &opts)?;
    let (tx, rx) = sync_channel::<std::sync::Arc<Vec<u8>>>(4);
    let hasher = std::thread::spawn(move || {
        let mut m = md5::Md5::new();
        let mut s = sha1::Sha1::new();
        for block in rx {
            m.update(&block[..]);
            s.update(&block[..]);
        }
        let m: [u8; 16] = m.finalize().into();
        let s: [u8; 20] = s.finalize().into();
        (m, s)
    });
    loop {
        let mut buf = vec![0u8; 4 << 20];
        let mut filled = 0;
        while filled < buf.len() {
            let n = file.read(&mut buf[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            break;
        }
        buf.truncate(filled);
        w.write(&buf)?;
        tx.send(std::sync::Arc::new(buf))?;
    }
    // EWF stores whole sectors: the writer pads the last one with zeros,
    // and the digests must cover the padded media.
    let rem = media_size % u64::from(opts.sector_size);
    if rem != 0 {
        let pad = vec![0u8; (u64::from(opts.sector_size) - rem) as usize];
        tx.send(std::sync::Arc::new(pad))?;
    }
    drop(tx);
    let (md5, sha1) = hasher.join().map_err(|_| "hash thread panicked")?;
    let summary = w.finish(md5, sha1)?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} bytes in {secs:.2} s ({:.0} MB/s), {} segments, {} chunks ({} compressed), {} bytes stored",
        media_size,
        media_size as f64 / secs / 1e6,
        summary.segments.len(),
        summary.chunks,
        summary.compressed_chunks,
        summary.bytes_written
    );
    Ok(())
}
