//! The CLI's allocator: a bump arena in front of the C library's `malloc`.
//!
//! A `fastrun` process lives for one operation and makes a few thousand small
//! allocations on its start path, most of them freed only at exit. The arena hands
//! out memory from one static region by moving an offset (a compare-and-swap, so
//! threads are fine); a free of the most recent block moves it back (the pattern of a
//! loop that formats and drops), any other free leaves the block in place until exit.
//! When the region is used up, or for a block too large for what is left, allocations
//! go to the C library's allocator, and their frees back to it: a long-lived operation
//! (`run` of a container that runs for days, `events`) then leaks at most the region.
//! The region is `.bss`: the pages the process never touches cost nothing.
//!
//! Why: musl's allocator (the static binary is built against musl, whose start is
//! ~0.2 ms shorter than glibc's on a VM where each `cpuid` traps) made a `run` ~0.3 ms
//! slower than glibc's; with the arena in front, the allocations cost next to
//! nothing (docs/dependencies.md has the measurements).
//!
//! Not for libfastrun or the shim: a library must not replace its host's allocator,
//! and a daemon frees what it allocates over a long life.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The CLI's arena: 4 MiB (a `run` uses ~0.2 MiB of it).
pub type CliArena = Arena<{ 4 << 20 }>;

#[repr(C, align(4096))]
struct Region<const N: usize>(UnsafeCell<[u8; N]>);

/// A bump arena of `N` bytes in front of [`System`] (install with
/// `#[global_allocator]`).
pub struct Arena<const N: usize> {
    region: Region<N>,
    /// Offset of the first free byte of the region.
    top: AtomicUsize,
}

// SAFETY: disjoint parts of the region are handed out under the atomic `top`; the
// region is never read or written through the arena itself.
unsafe impl<const N: usize> Sync for Arena<N> {}

impl<const N: usize> Arena<N> {
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self {
            region: Region(UnsafeCell::new([0; N])),
            top: AtomicUsize::new(0),
        }
    }

    fn base(&self) -> usize {
        self.region.0.get() as usize
    }

    fn owns(&self, p: *mut u8) -> bool {
        let a = p as usize;
        a >= self.base() && a < self.base() + N
    }

    /// Bytes of the region handed out (and not given back).
    pub fn used(&self) -> usize {
        self.top.load(Ordering::Relaxed)
    }

    /// A block of the region, or None when what is left is too small.
    fn bump(&self, layout: Layout) -> Option<*mut u8> {
        let b = self.base();
        let mut top = self.top.load(Ordering::Relaxed);
        loop {
            let start = (b + top).checked_next_multiple_of(layout.align())? - b;
            let end = start.checked_add(layout.size()).filter(|&e| e <= N)?;
            match self
                .top
                .compare_exchange_weak(top, end, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Some((b + start) as *mut u8),
                Err(t) => top = t,
            }
        }
    }
}

// SAFETY: every block handed out lies within the region (checked against N before
// the compare-and-swap that reserves it) or comes from `System`, and is never handed
// out again while live: `top` only moves back over the block reserved last, when it
// is freed or shrunk.
unsafe impl<const N: usize> GlobalAlloc for Arena<N> {
    // one copy of each, not one per call site of the program (+340 KB of text)
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.bump(layout) {
            Some(p) => p,
            // SAFETY: the caller's layout, handed on.
            None => unsafe { System.alloc(layout) },
        }
    }

    #[inline(never)]
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        if self.owns(p) {
            let off = p as usize - self.base();
            // the last block: give it back (a lost race leaves it in place)
            let _ = self.top.compare_exchange(
                off + layout.size(),
                off,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        } else {
            // SAFETY: not the region's, so System's, with this layout.
            unsafe { System.dealloc(p, layout) }
        }
    }

    #[inline(never)]
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !self.owns(p) {
            // SAFETY: System's block, with its layout and the caller's new size.
            return unsafe { System.realloc(p, layout, new_size) };
        }
        let off = p as usize - self.base();
        // the last block grows or shrinks in place
        if off + new_size <= N
            && self
                .top
                .compare_exchange(
                    off + layout.size(),
                    off + new_size,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            return p;
        }
        if new_size <= layout.size() {
            return p;
        }
        // SAFETY: GlobalAlloc's contract: new_size, rounded up to the alignment, does
        // not overflow isize.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: a valid, non-zero layout (new_size > layout.size()).
        let q = unsafe { self.alloc(new_layout) };
        if !q.is_null() {
            // SAFETY: both blocks are live and distinct; the old one holds layout.size()
            // bytes, fewer than the new one.
            unsafe { std::ptr::copy_nonoverlapping(p, q, layout.size()) };
            // SAFETY: the old block, with its layout.
            unsafe { self.dealloc(p, layout) };
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh arena on the heap (not built on the stack: the largest is 1 MiB).
    fn arena<const N: usize>() -> &'static Arena<N> {
        let layout = Layout::new::<Arena<N>>();
        // SAFETY: a non-zero layout; all-zero bytes are an empty arena (a zeroed
        // region, top 0), as `Arena::new` makes; leaked, so never freed.
        unsafe { &*(std::alloc::alloc_zeroed(layout) as *const Arena<N>) }
    }

    fn l(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn blocks_are_aligned_disjoint_and_in_the_region() {
        let a = arena::<65536>();
        let mut blocks = Vec::new();
        for (i, (size, align)) in [(1, 1), (24, 8), (3, 1), (64, 64), (5, 4), (100, 16)]
            .into_iter()
            .cycle()
            .take(60)
            .enumerate()
        {
            // SAFETY: a non-zero layout.
            let p = unsafe { a.alloc(l(size, align)) };
            assert!(a.owns(p), "block {i} outside the region");
            assert_eq!(p as usize % align, 0, "block {i} misaligned");
            // SAFETY: the block holds `size` bytes.
            unsafe { p.write_bytes(i as u8, size) };
            blocks.push((p, size, i as u8));
        }
        for (p, size, v) in blocks {
            // SAFETY: live blocks of `size` bytes, written above.
            let s = unsafe { std::slice::from_raw_parts(p, size) };
            assert!(
                s.iter().all(|&b| b == v),
                "a later block overwrote an earlier one"
            );
        }
    }

    #[test]
    fn the_last_block_freed_is_given_back_others_stay() {
        let a = arena::<4096>();
        // SAFETY: non-zero layouts; each block is freed with its own layout.
        unsafe {
            let x = a.alloc(l(100, 8));
            let y = a.alloc(l(200, 8));
            let used = a.used();
            a.dealloc(x, l(100, 8));
            assert_eq!(
                a.used(),
                used,
                "freeing a block that is not the last moved the top"
            );
            a.dealloc(y, l(200, 8));
            assert_eq!(a.used(), used - 200);
            let z = a.alloc(l(200, 8));
            assert_eq!(z, y, "the freed last block was not reused");
        }
    }

    #[test]
    fn realloc_grows_the_last_block_in_place_and_moves_others() {
        let a = arena::<4096>();
        // SAFETY: blocks used within their sizes and freed with their layouts.
        unsafe {
            let x = a.alloc(l(16, 8));
            x.write_bytes(7, 16);
            let x2 = a.realloc(x, l(16, 8), 64);
            assert_eq!(x2, x, "the last block did not grow in place");
            let y = a.alloc(l(8, 8));
            let x3 = a.realloc(x2, l(64, 8), 128);
            assert_ne!(x3, x2, "a block below another grew over it");
            assert!(a.owns(x3));
            assert!(std::slice::from_raw_parts(x3, 16).iter().all(|&b| b == 7));
            // shrinking never moves
            assert_eq!(a.realloc(x3, l(128, 8), 32), x3);
            a.dealloc(y, l(8, 8));
        }
    }

    #[test]
    fn a_full_region_hands_over_to_the_system_allocator() {
        let a = arena::<4096>();
        // SAFETY: blocks used within their sizes and freed with their layouts.
        unsafe {
            let big = a.alloc(l(8192, 8));
            assert!(
                !big.is_null() && !a.owns(big),
                "a block larger than the region"
            );
            big.write_bytes(1, 8192);
            a.dealloc(big, l(8192, 8));
            let x = a.alloc(l(4000, 8));
            assert!(a.owns(x));
            x.write_bytes(3, 4000);
            let y = a.alloc(l(200, 8));
            assert!(!a.owns(y), "the region has 96 bytes left");
            // the region's last block growing past its end moves to System, data kept
            let x2 = a.realloc(x, l(4000, 8), 5000);
            assert!(!a.owns(x2));
            assert!(std::slice::from_raw_parts(x2, 4000).iter().all(|&b| b == 3));
            let x3 = a.realloc(x2, l(5000, 8), 6000);
            assert!(std::slice::from_raw_parts(x3, 4000).iter().all(|&b| b == 3));
            a.dealloc(x3, l(6000, 8));
            a.dealloc(y, l(200, 8));
            assert_eq!(a.used(), 0, "the moved block was not given back");
        }
    }

    #[test]
    fn threads_get_disjoint_blocks() {
        let a = arena::<{ 1 << 20 }>();
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                std::thread::spawn(move || {
                    let mut mine = Vec::new();
                    for i in 0..2000usize {
                        let size = 8 + i % 40;
                        // SAFETY: a non-zero layout; the block holds `size` bytes.
                        let p = unsafe { a.alloc(l(size, 8)) };
                        // SAFETY: as above.
                        unsafe { p.write_bytes(t, size) };
                        mine.push((p as usize, size));
                        if i % 3 == 0 {
                            let (q, s) = mine.pop().unwrap();
                            // SAFETY: this thread's live block, with its layout.
                            unsafe { a.dealloc(q as *mut u8, l(s, 8)) };
                        }
                    }
                    for &(p, size) in &mine {
                        // SAFETY: this thread's live blocks.
                        let s = unsafe { std::slice::from_raw_parts(p as *const u8, size) };
                        assert!(s.iter().all(|&b| b == t), "another thread wrote here");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}
