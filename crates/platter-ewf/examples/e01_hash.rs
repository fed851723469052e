//! Reads an E01 set through [`platter_ewf::EwfImage`] (the `Source` every
//! platter command uses), computes MD5 and SHA-1 and compares them with
//! the digests stored in the image: the reader side of
//! `benches/e01_compare.sh`, against `ewfverify`.
//!
//! ```text
//! cargo run --release -p platter-ewf --example e01_hash -- IMAGE.E01
//! ```
//!
//! Exit status 0 when the digests match, 1 otherwise.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::sync_channel;

use md5::Digest as _;
use platter_core::Source;
use platter_ewf::EwfImage;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(path) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: e01_hash IMAGE.E01");
        std::process::exit(2);
    };
    let start = std::time::Instant::now();
    let img = EwfImage::open(&path)?;
    let len = img.len();
    // MD5 and SHA-1 each on their own thread, fed the same blocks.
    let (md5_tx, md5_rx) = sync_channel::<Arc<Vec<u8>>>(4);
    let (sha_tx, sha_rx) = sync_channel::<Arc<Vec<u8>>>(4);
    let md5_thread = std::thread::spawn(move || {
        let mut h = md5::Md5::new();
        for b in md5_rx {
            h.update(&b[..]);
        }
        hex(&h.finalize())
    });
    let sha_thread = std::thread::spawn(move || {
        let mut h = sha1::Sha1::new();
        for b in sha_rx {
            h.update(&b[..]);
        }
        hex(&h.finalize())
    });
    let block = 8u64 << 20;
    let mut pos = 0u64;
    while pos < len {
        let n = block.min(len - pos) as usize;
        let mut buf = vec![0u8; n];
        img.read_exact_at(&mut buf, pos)?;
        let buf = Arc::new(buf);
        md5_tx.send(buf.clone())?;
        sha_tx.send(buf)?;
        pos += n as u64;
    }
    drop((md5_tx, sha_tx));
    let md5 = md5_thread.join().map_err(|_| "md5 thread panicked")?;
    let sha1 = sha_thread.join().map_err(|_| "sha1 thread panicked")?;
    let secs = start.elapsed().as_secs_f64();
    let stored_md5 = img.stored_md5().map(|m| hex(&m));
    let stored_sha1 = img.stored_sha1().map(|s| hex(&s));
    println!(
        "md5:  {md5} (stored {})",
        stored_md5.as_deref().unwrap_or("none")
    );
    println!(
        "sha1: {sha1} (stored {})",
        stored_sha1.as_deref().unwrap_or("none")
    );
    println!(
        "{len} bytes in {secs:.2} s ({:.0} MB/s)",
        len as f64 / secs / 1e6
    );
    let ok = stored_md5.is_none_or(|m| m == md5) && stored_sha1.is_none_or(|s| s == sha1);
    println!("{}", if ok { "SUCCESS" } else { "MISMATCH" });
    std::process::exit(if ok { 0 } else { 1 });
}
