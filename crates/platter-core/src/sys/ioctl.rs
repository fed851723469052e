//! The block-device ioctls that rustix has no safe wrapper for.
//!
//! This is one of the two modules of `platter-core` allowed to use `unsafe`
//! (the other is [`mmap`](super::mmap)). Each call names its opcode and the
//! exact type the kernel writes, as defined in the Linux UAPI header
//! `include/uapi/linux/fs.h`.

use std::os::fd::AsFd;

use rustix::ioctl::{Getter, Opcode, ioctl, opcode};

/// `BLKGETSIZE64`: `_IOR(0x12, 114, size_t)`. Despite the `size_t` in the
/// opcode, the kernel always writes a `u64` (`block/ioctl.c`, `put_u64`).
const BLKGETSIZE64: Opcode = opcode::read::<usize>(0x12, 114);

/// `BLKROGET`: `_IO(0x12, 94)`. The kernel writes an `int` through the
/// argument pointer (`block/ioctl.c`, `put_int(argp, bdev_read_only(bdev))`).
const BLKROGET: Opcode = opcode::none(0x12, 94);

/// Size of the block device in bytes.
pub(super) fn blk_get_size64(fd: impl AsFd) -> std::io::Result<u64> {
    // SAFETY: BLKGETSIZE64 is a getter whose kernel handler writes exactly one
    // `u64` through the pointer `Getter` provides (a properly aligned,
    // writable `MaybeUninit<u64>`); it has no other side effects.
    let size = unsafe { ioctl(fd, Getter::<BLKGETSIZE64, u64>::new()) }?;
    Ok(size)
}

/// Whether the block device is read-only (set with `blockdev --setro` or
/// `losetup -r`, or by the hardware).
pub(super) fn blk_ro_get(fd: impl AsFd) -> std::io::Result<bool> {
    // SAFETY: BLKROGET writes exactly one `int` (`c_int`) through the pointer
    // `Getter` provides, which is a properly aligned `MaybeUninit<c_int>`; it
    // only reads device state. The opcode is `_IO` (no size encoded) but the
    // argument is nonetheless a pointer, so the getter pattern fits.
    let ro = unsafe { ioctl(fd, Getter::<BLKROGET, std::ffi::c_int>::new()) }?;
    Ok(ro != 0)
}

/// `BLKROSET`: `_IO(0x12, 93)`. The kernel reads an `int` through the
/// argument pointer (`block/ioctl.c`, `blkdev_roset`: `get_user(n, argp)`).
const BLKROSET: Opcode = opcode::none(0x12, 93);

/// Marks the block device read-only at the block layer (needs
/// `CAP_SYS_ADMIN`), as `blockdev --setro` does.
pub(super) fn blk_ro_set(fd: impl AsFd, read_only: bool) -> std::io::Result<()> {
    use rustix::ioctl::Setter;
    // SAFETY: BLKROSET reads exactly one `int` (`c_int`) through the pointer
    // `Setter` passes, which points at a live, aligned `c_int` owned by the
    // `Setter` for the duration of the call; nothing is written back.
    unsafe {
        ioctl(
            fd,
            Setter::<BLKROSET, std::ffi::c_int>::new(std::ffi::c_int::from(read_only)),
        )
    }?;
    Ok(())
}
