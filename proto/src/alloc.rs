//! A global allocator that turns hostile allocation sizes into address space
//! instead of a process abort.
//!
//! Why: the `kafka-protocol` 0.18 decoders pre-allocate arrays with
//! `Vec::with_capacity(n)` where `n` comes straight off the wire (upstream
//! pull requests to bound it are open). A request of a few bytes claiming a
//! billion-element array makes the system allocator refuse a multi-GiB
//! request, and Rust aborts the whole process — every client of the broker
//! would lose it to one malformed frame. Decoding then fails a moment later
//! ("not enough bytes") without ever touching that memory.
//!
//! So allocations of [`LARGE`] bytes or more are served by an anonymous
//! `MAP_NORESERVE` mapping: the kernel reserves only address space, pages
//! are committed when touched, and an untouched mapping costs nothing. Every
//! smaller allocation (all the broker really makes) goes to the system
//! allocator unchanged. Binaries opt in with
//! `#[global_allocator] static A: LazyLargeAlloc = LazyLargeAlloc;`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations at least this large are mapped lazily.
pub const LARGE: usize = 1 << 30;
const PAGE: usize = 4096;

/// See the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct LazyLargeAlloc;

fn is_large(layout: &Layout) -> bool {
    layout.size() >= LARGE && layout.align() <= PAGE
}

// SAFETY: every pointer handed out is either from `System` (and returned to
// it with the same layout) or from an mmap of exactly `layout.size()` bytes,
// page aligned (so any alignment up to PAGE holds), zero-filled, readable and
// writable, and released with munmap of the same size. `is_large` depends only
// on the layout, so alloc and dealloc always agree on which path owns a block.
unsafe impl GlobalAlloc for LazyLargeAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_large(&layout) {
            map(layout.size())
        } else {
            System.alloc(layout)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_large(&layout) {
            map(layout.size())
        } else {
            System.alloc_zeroed(layout)
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_large(&layout) {
            libc::munmap(ptr.cast(), layout.size());
        } else {
            System.dealloc(ptr, layout);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        if !is_large(&layout) && !is_large(&new_layout) {
            return System.realloc(ptr, layout, new_size);
        }
        let new = self.alloc(new_layout);
        if !new.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new
    }
}

unsafe fn map(size: usize) -> *mut u8 {
    let p = libc::mmap(
        std::ptr::null_mut(),
        size,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
        -1,
        0,
    );
    if p == libc::MAP_FAILED {
        std::ptr::null_mut()
    } else {
        p.cast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_untouched_allocations_cost_nothing_and_small_ones_work() {
        let a = LazyLargeAlloc;
        unsafe {
            let big = Layout::from_size_align(64 * LARGE, 8).expect("layout");
            let p = a.alloc(big);
            assert!(!p.is_null(), "a 64 GiB lazy mapping must succeed");
            *p = 7;
            assert_eq!(*p, 7);
            let q = a.realloc(p, big, 16);
            assert!(!q.is_null());
            assert_eq!(*q, 7);
            a.dealloc(q, Layout::from_size_align(16, 8).expect("layout"));
            let small = Layout::from_size_align(100, 8).expect("layout");
            let s = a.alloc_zeroed(small);
            assert_eq!(*s.add(99), 0);
            a.dealloc(s, small);
        }
    }
}
