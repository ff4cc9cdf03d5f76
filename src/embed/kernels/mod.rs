//! CPU kernels with runtime feature detection: AVX-512 (with BF16 and VNNI where the CPU
//! has them), AVX2 + FMA, and a portable fallback that every accelerated kernel is tested
//! against.
//!
//! * this file: what the CPU can run ([`cpu`]), the run-time dispatch of the element-wise
//!   kernels (`multiversion!`), and `SendPtr` for threads writing disjoint parts of a
//!   buffer;
//! * `elementwise`: GELU, softmax, layer norm, f32 → bf16 (and the `erf` / `exp` they use);
//! * `product_f32`: dot products and f32 matrix products (linear layers, attention);
//! * `product_bf16`: the bf16 weight packing and the AVX-512 BF16 linear layer;
//! * `product_i8`: 8-bit vectors and their dot product (the HNSW graph's distances), and
//!   the AVX-512 VNNI 8-bit linear layer;
//! * `x86`: the AVX-512 / AVX2 intrinsics behind the products.

/// What this CPU can run, detected once.
#[derive(Debug, Clone, Copy)]
pub struct Cpu {
    pub avx2_fma: bool,
    pub avx512: bool,
    pub avx512_bf16: bool,
    /// AVX-512 VNNI (8-bit products summed in 32-bit lanes).
    pub avx512_vnni: bool,
}

/// The CPU's features (cached after the first call).
pub fn cpu() -> Cpu {
    use std::sync::OnceLock;
    static CPU: OnceLock<Cpu> = OnceLock::new();
    *CPU.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2_fma = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            let avx512 = avx2_fma
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw");
            let avx512_bf16 = avx512 && is_x86_feature_detected!("avx512bf16");
            let avx512_vnni = avx512 && is_x86_feature_detected!("avx512vnni");
            Cpu {
                avx2_fma,
                avx512,
                avx512_bf16,
                avx512_vnni,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Cpu {
                avx2_fma: false,
                avx512: false,
                avx512_bf16: false,
                avx512_vnni: false,
            }
        }
    })
}

// ---------------------------------------------------------------------------------------
// Element-wise kernels (in `elementwise`). Each is written once as plain Rust (`*_impl`,
// `#[inline(always)]`) and compiled three times: for AVX-512, for AVX2 + FMA and portable;
// `multiversion!` picks one at run time. The plain code is branch-free so the compiler
// vectorises it. (Defined before the modules so that they can use it.)

macro_rules! multiversion {
    ($(#[$m:meta])* pub fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? => $imp:ident) => {
        $(#[$m])*
        pub fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                /// The kernel compiled for AVX-512.
                ///
                /// # Safety
                /// The CPU must have AVX-512F, BW, DQ and VL, AVX2 and FMA.
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
                unsafe fn avx512($($arg: $ty),*) $(-> $ret)? { $imp($($arg),*) }
                /// The kernel compiled for AVX2 + FMA.
                ///
                /// # Safety
                /// The CPU must have AVX2 and FMA.
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? { $imp($($arg),*) }
                let c = $crate::embed::kernels::cpu();
                if c.avx512 {
                    // SAFETY: `cpu()` detected AVX-512F and BW at run time, and `avx512`
                    // implies AVX2 + FMA (see `cpu`); DQ and VL are not tested, but every
                    // CPU with BW has them too (they came together, with Skylake-SP). The
                    // kernel itself is safe code over the caller's slices.
                    return unsafe { avx512($($arg),*) };
                }
                if c.avx2_fma {
                    // SAFETY: `cpu()` detected AVX2 and FMA at run time; the kernel itself
                    // is safe code over the caller's slices.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $imp($($arg),*)
        }
    };
}

mod elementwise;
mod product_bf16;
mod product_f32;
mod product_i8;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use elementwise::{add_layernorm, bf16_to_f32, erf, exp, gelu, softmax, to_bf16};
pub use product_bf16::{linear_bf16, PackedBf16};
pub use product_f32::{dot, dot_portable, dots4, linear_f32, matmul_strided};
pub use product_i8::{dot_f32_i8, dot_f32_i8_auto, dot_i8, linear_i8, quantize_i8, PackedI8};

/// Rows of A per parallel block of the packed products (bf16, int8).
const ROW_BLOCK: usize = 64;
/// Output columns per block: three 16-column tiles, the micro-kernels' widest.
const COL_BLOCK: usize = 48;

/// Fill `scratch` with A's `m` rows (`k` values each) in a packed product's input form:
/// `convert(row, out)` writes one row's `stride` words; rows are spread over the threads.
fn rows_into(
    scratch: &mut Vec<u32>,
    stride: usize,
    a: &[f32],
    m: usize,
    k: usize,
    convert: impl Fn(&[f32], &mut [u32]) + Sync,
) {
    use rayon::prelude::*;
    scratch.resize(m * stride, 0);
    scratch
        .par_chunks_mut(stride * 16)
        .zip(a[..m * k].par_chunks(k * 16))
        .for_each(|(dst, src)| {
            for (d, s) in dst.chunks_exact_mut(stride).zip(src.chunks_exact(k)) {
                convert(s, d);
            }
        });
}

/// Run `block(r0, r1, c0, c1)` over an m×n product cut into blocks of [`ROW_BLOCK`] rows ×
/// [`COL_BLOCK`] columns (`c0` a multiple of 16, at most three tiles a block), spread over
/// the threads when the product (m·n·k) is worth it.
fn in_blocks(m: usize, n: usize, k: usize, block: impl Fn(usize, usize, usize, usize) + Sync) {
    let col_blocks = n.div_ceil(COL_BLOCK);
    let jobs = m.div_ceil(ROW_BLOCK) * col_blocks;
    let job = |jb: usize| {
        let (rb, cb) = (jb / col_blocks, jb % col_blocks);
        let r0 = rb * ROW_BLOCK;
        let c0 = cb * COL_BLOCK;
        block(r0, (r0 + ROW_BLOCK).min(m), c0, (c0 + COL_BLOCK).min(n));
    };
    if jobs > 1 && m * n * k >= 1 << 18 {
        use rayon::prelude::*;
        (0..jobs).into_par_iter().for_each(job);
    } else {
        (0..jobs).for_each(job);
    }
}

/// Raw pointer that may cross threads: each thread writes its own disjoint part.
#[derive(Clone, Copy)]
pub(crate) struct SendPtr<T>(pub *mut T);

// SAFETY: a `SendPtr` is only a copy of the address; every dereference is an `unsafe`
// block whose caller keeps the writes of different threads to disjoint elements. What
// crosses threads is thus exclusive access to some `T`s, as with a `&mut [T]` split into
// chunks, which is sound for `T: Send`.
unsafe impl<T: Send> Send for SendPtr<T> {}
// SAFETY: all a shared `&SendPtr` gives is a copy of the pointer (it is `Copy`), so sharing
// it is no more than sending it: sound for `T: Send`, as above.
unsafe impl<T: Send> Sync for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// The pointer (a method, so closures capture the `Send` wrapper, not the raw field).
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}

#[cfg(test)]
mod tests;
