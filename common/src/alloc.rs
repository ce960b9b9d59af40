//! The global allocator of the three binaries: the system's malloc, except
//! that a small block is grown (or shrunk) by a fresh allocation and a
//! copy. glibc's `realloc` goes past its per-thread cache to the arena
//! (`_int_realloc`, then `_int_malloc` and `_int_free`), which costs about
//! three times a cached allocation, a copy and a cached free; on the
//! request path that is a header map or buffer growing by one entry.
//! Blocks above the cache's size keep glibc's `realloc`, which can grow
//! them in place or by remapping.

#![allow(unsafe_code)] // a GlobalAlloc is an unsafe trait; it forwards to System

use std::alloc::{GlobalAlloc, Layout, System};

/// glibc's thread cache serves blocks up to 1032 bytes.
const CACHED: usize = 1024;

/// [`System`], with small reallocations done by hand.
pub struct Allocator;

// SAFETY: every method forwards to `System` with the caller's layouts; the
// hand-made realloc allocates a block of the new layout, copies the bytes
// both blocks hold and frees the old block with its own layout, as
// `GlobalAlloc::realloc`'s contract describes.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > CACHED {
            // SAFETY: the caller's arguments, passed on.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: the caller guarantees `new_size`, rounded up to the
        // alignment, does not overflow isize; the alignment is the old one.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: `new_layout` has a non-zero size (the caller's contract).
        let new = unsafe { System.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are valid for the smaller of the sizes and
            // distinct; the old block is freed with the layout it was made with.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                System.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grown_block_keeps_its_bytes_below_and_above_the_cached_size() {
        for (from, to) in [(16, 48), (48, 16), (1000, 1024), (1024, 4096), (4096, 64)] {
            let layout = Layout::from_size_align(from, 8).unwrap();
            // SAFETY: a non-zero layout; the block is written within its size,
            // grown once and freed with its new layout.
            unsafe {
                let ptr = Allocator.alloc(layout);
                assert!(!ptr.is_null());
                for i in 0..from {
                    *ptr.add(i) = (i % 251) as u8;
                }
                let grown = Allocator.realloc(ptr, layout, to);
                assert!(!grown.is_null());
                for i in 0..from.min(to) {
                    assert_eq!(*grown.add(i), (i % 251) as u8, "byte {i} of {from} -> {to}");
                }
                Allocator.dealloc(grown, Layout::from_size_align(to, 8).unwrap());
            }
        }
    }
}
