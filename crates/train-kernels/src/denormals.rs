//! Subnormal floats flushed to zero in the threads that train.
//!
//! Adam keeps a running mean of every gradient; where a gradient stays exactly zero (a hidden
//! unit's weight from an input that ReLU keeps at zero) that mean decays by 0.9 a step and
//! reaches the subnormal range after about 800 steps. x86 CPUs compute on subnormals through
//! a microcode assist, about a hundred times slower: burn's Adam step on the MNIST CNN grew
//! several-fold once the moments went subnormal (docs/benchmark-history.md). With
//! flush-to-zero (results) and denormals-are-zero (inputs) the CPU treats them as zero, as
//! TensorFlow does by default and `torch.set_flush_denormal(True)` does for PyTorch.
//! The answer changes only where a value below 1.2e-38 would have been kept; runs stay
//! reproducible.

use std::fmt;

/// MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6).
#[cfg(target_arch = "x86_64")]
const FLUSH_BITS: u32 = (1 << 15) | (1 << 6);

/// Why [`flush_denormals`] could not cover every thread.
#[derive(Debug)]
pub struct PoolAlreadyBuilt(rayon::ThreadPoolBuildError);

impl fmt::Display for PoolAlreadyBuilt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot flush subnormal floats in rayon's threads: its global pool already runs \
             ({}); call train_kernels::flush_denormals first thing in main",
            self.0
        )
    }
}

impl std::error::Error for PoolAlreadyBuilt {}

/// Flushes subnormal floats to zero in this thread and in every thread of rayon's global pool
/// (where flex and gemm compute), building that pool. Call it first thing in `main`, before
/// anything uses rayon. On CPUs other than x86-64 it does nothing.
pub fn flush_denormals() -> Result<(), PoolAlreadyBuilt> {
    flush_in_this_thread();
    rayon::ThreadPoolBuilder::new()
        .start_handler(|_| flush_in_this_thread())
        .build_global()
        .map_err(PoolAlreadyBuilt)
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code, deprecated)]
// SAFETY: reading and writing MXCSR only changes how this thread rounds subnormal floats; the
// other bits are written back as read. (The intrinsics are deprecated in favour of inline
// assembly that does the same.)
fn flush_in_this_thread() {
    use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
    unsafe { _mm_setcsr(_mm_getcsr() | FLUSH_BITS) }
}

#[cfg(not(target_arch = "x86_64"))]
fn flush_in_this_thread() {}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    #[test]
    fn subnormal_results_become_zero_in_the_flushed_thread() {
        let tiny = std::hint::black_box(1e-30f32);
        let subnormal = move || std::hint::black_box(tiny) * std::hint::black_box(1e-10f32);
        assert!(subnormal() > 0.0, "a subnormal product before flushing");
        let flushed = std::thread::spawn(move || {
            flush_in_this_thread();
            subnormal()
        });
        assert_eq!(flushed.join().unwrap(), 0.0);
    }

    #[test]
    fn a_call_after_the_pool_exists_is_refused_with_the_fix() {
        // Whichever call comes first (this one or another test's rayon use) builds the pool.
        let _ = flush_denormals();
        let error = flush_denormals().expect_err("the global pool exists by now");
        let message = error.to_string();
        assert!(message.contains("already runs"), "{message}");
        assert!(message.contains("first thing in main"), "{message}");
    }
}
