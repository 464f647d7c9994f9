//! Four `f32` lanes and the two operations the product needs, multiply and add, kept separate
//! (never fused) so every target computes the same bits.
//!
//! Under wasm with SIMD128 (how the modules are built) this is the `v128` type and its
//! instructions, written out because LLVM's vectoriser leaves the product's 6 x 8 block scalar
//! for wasm (48 scalar sums spilled to the stack, where most of an MNIST batch's time went).
//! Elsewhere it is a plain array, which LLVM vectorises natively (SSE on x86-64).

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::{
        f32x4_add, f32x4_extract_lane, f32x4_mul, f32x4_splat, i32x4_shuffle, v128, v128_load,
        v128_load32_splat,
    };

    #[derive(Clone, Copy)]
    pub(crate) struct F32x4(v128);

    impl F32x4 {
        #[inline(always)]
        pub(crate) fn splat(value: f32) -> Self {
            Self(f32x4_splat(value))
        }

        /// `*value` in every lane, straight from memory (`v128.load32_splat`).
        #[inline(always)]
        #[allow(unsafe_code)]
        pub(crate) fn splat_from(value: &f32) -> Self {
            // SAFETY: reads the four bytes of a live `f32`.
            Self(unsafe { v128_load32_splat(std::ptr::from_ref(value).cast()) })
        }

        /// One `v128.load`. Built lane by lane instead, the vector was assembled from four
        /// scalar loads (`vpinsrd`) in the module's size-optimised build.
        #[inline(always)]
        #[allow(unsafe_code)]
        pub(crate) fn load(values: &[f32; 4]) -> Self {
            // SAFETY: reads the sixteen bytes of a live `[f32; 4]`; `v128.load` needs no
            // alignment.
            Self(unsafe { v128_load(values.as_ptr().cast()) })
        }

        /// Lane `lane` (0 to 3) in every lane: one shuffle, which wasmtime compiles to one
        /// `pshufd`, where a splat from memory (`v128.load32_splat`) took a general-purpose
        /// register and two more instructions.
        #[inline(always)]
        pub(crate) fn lane_splat(self, lane: usize) -> Self {
            Self(match lane {
                0 => i32x4_shuffle::<0, 0, 0, 0>(self.0, self.0),
                1 => i32x4_shuffle::<1, 1, 1, 1>(self.0, self.0),
                2 => i32x4_shuffle::<2, 2, 2, 2>(self.0, self.0),
                _ => i32x4_shuffle::<3, 3, 3, 3>(self.0, self.0),
            })
        }

        /// `self + a * b`, lane by lane: a multiply, then an add.
        #[inline(always)]
        pub(crate) fn add_product(self, a: Self, b: Self) -> Self {
            Self(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
        }

        #[inline(always)]
        pub(crate) fn to_array(self) -> [f32; 4] {
            [
                f32x4_extract_lane::<0>(self.0),
                f32x4_extract_lane::<1>(self.0),
                f32x4_extract_lane::<2>(self.0),
                f32x4_extract_lane::<3>(self.0),
            ]
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    #[derive(Clone, Copy)]
    pub(crate) struct F32x4([f32; 4]);

    impl F32x4 {
        #[inline(always)]
        pub(crate) fn splat(value: f32) -> Self {
            Self([value; 4])
        }

        #[inline(always)]
        pub(crate) fn splat_from(value: &f32) -> Self {
            Self([*value; 4])
        }

        #[inline(always)]
        pub(crate) fn load(values: &[f32; 4]) -> Self {
            Self(*values)
        }

        #[inline(always)]
        pub(crate) fn lane_splat(self, lane: usize) -> Self {
            Self([self.0[lane]; 4])
        }

        /// `self + a * b`, lane by lane: a multiply, then an add.
        #[inline(always)]
        pub(crate) fn add_product(self, a: Self, b: Self) -> Self {
            Self(std::array::from_fn(|i| self.0[i] + a.0[i] * b.0[i]))
        }

        #[inline(always)]
        pub(crate) fn to_array(self) -> [f32; 4] {
            self.0
        }
    }
}

pub(crate) use imp::F32x4;
