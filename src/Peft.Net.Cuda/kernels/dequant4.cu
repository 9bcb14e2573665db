// dequant4.cu — NF4/FP4 blockwise dequantization kernels (4-bit codes -> float32 / float16 / bfloat16).
// Six entry points: pn_dequant4_{f32,f16,bf16}_{plain,nested}. NF4 and FP4 differ only in the 16-entry quant_map
// passed in (nf4-format.md §1, §3), so one kernel serves both. All six take the same parameter list so the host
// launches them alike; the unused pointers of the other absmax kind may be null.
//
//   packed        [ceil(n/2)]            4-bit codes, even index in the high nibble
//   absmax        [nb]          f32      plain absmax (plain kernels)
//   absmax_codes  [nb]          u8       nested kernels: 8-bit codes of absmax - offset
//   nested_absmax [ceil(nb/256)] f32     nested kernels
//   nested_map    [256]         f32      nested kernels
//   quant_map     [16]          f32
//   out           [n]                    f32 / f16 bits / bf16 bits
// Launch: PN_DEQUANT_BLOCK_THREADS threads per block, ceil(threads / PN_DEQUANT_BLOCK_THREADS) blocks, where
// threads = ceil(n / 4) for f32 and ceil(n / 8) for f16/bf16 (pn::dequant4_thread_count).
#include "dequant_body.cuh"

#define PN_DEQUANT_BLOCK_THREADS 256

#define PN_DEQUANT4_KERNEL(NAME, OUT, SCALE_EXPR)                                                                    \
    extern "C" __global__ void __launch_bounds__(PN_DEQUANT_BLOCK_THREADS) NAME(                                     \
        const unsigned char* __restrict__ packed, const float* __restrict__ absmax,                                   \
        const unsigned char* __restrict__ absmax_codes, const float* __restrict__ nested_absmax,                      \
        const float* __restrict__ nested_map, float offset, int nested_shift,                                         \
        const float* __restrict__ quant_map, OUT::Elem* __restrict__ out, long long n, int block_shift)               \
    {                                                                                                                 \
        const long long t = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;                            \
        pn::dequant4_thread<OUT>(packed, SCALE_EXPR, quant_map, out, n, block_shift, t);                              \
    }

#define PN_PLAIN pn::PlainAbsmax{absmax}
#define PN_NESTED pn::NestedAbsmax{absmax_codes, nested_absmax, nested_map, offset, nested_shift}

PN_DEQUANT4_KERNEL(pn_dequant4_f32_plain, pn::OutF32, PN_PLAIN)
PN_DEQUANT4_KERNEL(pn_dequant4_f16_plain, pn::OutF16, PN_PLAIN)
PN_DEQUANT4_KERNEL(pn_dequant4_bf16_plain, pn::OutBF16, PN_PLAIN)
PN_DEQUANT4_KERNEL(pn_dequant4_f32_nested, pn::OutF32, PN_NESTED)
PN_DEQUANT4_KERNEL(pn_dequant4_f16_nested, pn::OutF16, PN_NESTED)
PN_DEQUANT4_KERNEL(pn_dequant4_bf16_nested, pn::OutBF16, PN_NESTED)
