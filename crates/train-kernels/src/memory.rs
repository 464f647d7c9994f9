//! Freed multi-MB buffers kept for the next step instead of handed back to the OS.
//!
//! Every training step allocates and frees the same few multi-MB buffers (patch matrices,
//! activations, gradients). glibc serves blocks above its mmap threshold (128 KiB at first,
//! raised to the largest block freed so far) with fresh mappings, and hands a free stretch at
//! the top of its heap back to the OS once it exceeds the trim threshold (twice that): the
//! next step's buffer then comes back as new pages that the kernel zeroes and maps one
//! fault at a time, on the threads that compute. With the thresholds below the MNIST CNN's
//! evaluation and training steps run faster (docs/benchmark-history.md).

/// Largest block served from the heap: glibc's own ceiling for the threshold on 64-bit.
const MMAP_THRESHOLD: i32 = 32 << 20;

/// Asks glibc's allocator to keep freed blocks of up to 32 MiB for reuse: blocks up to that
/// size come from its heap, which it no longer trims. The process keeps the memory it has
/// used at its peak (a training run's peak is a few hundred MB). Other C libraries are left
/// as they are.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: mallopt only sets allocator parameters, under the allocator's own lock; any
    // value is valid for these two (glibc clamps what it does not accept).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    /// Page faults this thread has taken so far.
    fn faults() -> i64 {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        #[allow(unsafe_code)]
        // SAFETY: getrusage writes the struct it is given; zeroed is a valid rusage.
        let usage = unsafe {
            assert_eq!(libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()), 0);
            usage.assume_init()
        };
        usage.ru_minflt
    }

    /// Faults taken while filling a fresh 16 MiB buffer.
    fn faults_filling_a_buffer() -> i64 {
        let before = faults();
        let buffer = std::hint::black_box(vec![1.0f32; 4 << 20]);
        let taken = faults() - before;
        drop(buffer);
        taken
    }

    #[test]
    fn a_freed_buffer_is_reused_without_new_pages() {
        keep_freed_memory();
        faults_filling_a_buffer();
        // 16 MiB of new pages would be 4,096 faults of 4 KiB (fewer with huge pages).
        let again = faults_filling_a_buffer();
        assert!(
            again < 64,
            "{again} page faults refilling a freed 16 MiB buffer"
        );
    }
}
