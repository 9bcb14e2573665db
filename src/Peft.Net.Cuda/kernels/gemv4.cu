// gemv4.cu — fused 4-bit GEMV for batch-1 generation: y[N] = W_4bit[N, K] · x[K] (float32 x, y, accumulation).
// Entry points pn_gemv4_plain / pn_gemv4_nested, same parameter list (unused pointers of the other absmax kind may
// be null).
//
//   packed        [ceil(N*K/2)]          4-bit codes of W, row-major flat, even index in the high nibble
//   absmax        [nb]          f32      plain kernel
//   absmax_codes  [nb]          u8       nested kernel
//   nested_absmax [ceil(nb/256)] f32     nested kernel
//   nested_map    [256]         f32      nested kernel
//   quant_map     [16]          f32
//   x             [K]           f32      16-byte aligned
//   y             [N]           f32
// Launch: PN_GEMV_BLOCK_THREADS threads per block (PN_GEMV_BLOCK_THREADS / 32 rows), ceil(N / rows-per-block) blocks.
#include "gemv_body.cuh"

#define PN_GEMV_BLOCK_THREADS 128

#define PN_GEMV4_KERNEL(NAME, SCALE_EXPR)                                                                             \
    extern "C" __global__ void __launch_bounds__(PN_GEMV_BLOCK_THREADS) NAME(                                         \
        const unsigned char* __restrict__ packed, const float* __restrict__ absmax,                                   \
        const unsigned char* __restrict__ absmax_codes, const float* __restrict__ nested_absmax,                      \
        const float* __restrict__ nested_map, float offset, int nested_shift,                                         \
        const float* __restrict__ quant_map, const float* __restrict__ x, float* __restrict__ y,                      \
        long long rows, long long cols, int block_shift)                                                              \
    {                                                                                                                 \
        const long long row = static_cast<long long>(blockIdx.x) * (blockDim.x / pn::kWarpSize)                       \
                            + threadIdx.x / pn::kWarpSize;                                                            \
        const int lane = static_cast<int>(threadIdx.x % pn::kWarpSize);                                               \
        if (row >= rows) return; /* uniform per warp */                                                               \
        float v = pn::gemv4_lane_partial(packed, SCALE_EXPR, quant_map, x, cols, block_shift, row, lane);             \
        v = pn::warp_sum(v);                                                                                          \
        if (lane == 0) y[row] = v;                                                                                    \
    }

#define PN_PLAIN pn::PlainAbsmax{absmax}
#define PN_NESTED pn::NestedAbsmax{absmax_codes, nested_absmax, nested_map, offset, nested_shift}

PN_GEMV4_KERNEL(pn_gemv4_plain, PN_PLAIN)
PN_GEMV4_KERNEL(pn_gemv4_nested, PN_NESTED)
