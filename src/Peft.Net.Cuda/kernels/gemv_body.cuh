// gemv_body.cuh — per-lane body of the fused 4-bit GEMV for batch-1 generation: y[N] = W[N, K] · x[K].
//
// W is a 4-bit blockwise tensor of N*K elements in row-major flat order (blocks may span rows; see
// dequant_body.cuh for the format). One warp computes one output row; the weight is dequantized in registers and
// never written. Each lane accumulates its share of the row in float32 with one FMA per element
//     acc = fma( fl32(quant_map[code] * absmax), x[k], acc )
// in increasing k, then the warp sums the 32 partials with an xor butterfly (offsets 16, 8, 4, 2, 1;
// v = v + partner). The order is fixed, so any emulation that follows it (host build, C# GemvEmulation) is bit-exact.
//
// Lane share:
//   K % 32 == 0 (fast path): the row is cut into 32-element chunks (16 packed bytes, one 128-bit load, one absmax,
//                            8 float4 loads of x); lane l takes chunks l, l+32, l+64, ...
//   otherwise:               lane l takes elements k = l, l+32, l+64, ... one at a time.
#pragma once
#include "dequant_body.cuh"

namespace pn {

constexpr int kWarpSize = 32;

//   packed [ceil(N*K/2)], quant_map [16], x [K]; returns lane `lane`'s partial dot product of row `row`.
template <typename Scale>
PN_HD float gemv4_lane_partial(const unsigned char* packed, const Scale& scale, const float* quant_map,
                               const float* x, long long cols, int block_shift, long long row, int lane)
{
    const long long row_start = row * cols;
    float acc = 0.0f;
    if ((cols & 31) == 0)
    {
        const long long chunks = cols >> 5;
        for (long long c = lane; c < chunks; c += kWarpSize)
        {
            const long long e0 = row_start + (c << 5);                 // multiple of 32: one block, 16-byte aligned bytes
            const float absmax = block_absmax(scale, e0 >> block_shift);
            const U32x4 w = load_u32x4(packed + (e0 >> 1));
            const unsigned int words[4] = {w.x, w.y, w.z, w.w};
            const float* xc = x + (c << 5);
#pragma unroll
            for (int q = 0; q < 4; q++)
            {
                float xa[4], xb[4];
                load_f32x4(xc + 8 * q, xa);
                load_f32x4(xc + 8 * q + 4, xb);
                const float xv[8] = {xa[0], xa[1], xa[2], xa[3], xb[0], xb[1], xb[2], xb[3]};
#pragma unroll
                for (int j = 0; j < 4; j++)
                {
                    const unsigned int b = (words[q] >> (8 * j)) & 0xFFu;
                    acc = pn_fma(pn_mul(load_f32(quant_map + (b >> 4)), absmax), xv[2 * j], acc);
                    acc = pn_fma(pn_mul(load_f32(quant_map + (b & 0xFu)), absmax), xv[2 * j + 1], acc);
                }
            }
        }
        return acc;
    }

#pragma unroll 1
    for (long long k = lane; k < cols; k += kWarpSize)
    {
        const long long e = row_start + k;
        const unsigned int b = load_u8(packed + (e >> 1));
        const unsigned int code = (e & 1) ? (b & 0xFu) : (b >> 4);
        const float absmax = block_absmax(scale, e >> block_shift);
        acc = pn_fma(pn_mul(load_f32(quant_map + code), absmax), load_f32(x + k), acc);
    }
    return acc;
}

// Sum over the 32 lanes of a warp; every lane gets the same bits (a + b == b + a in IEEE arithmetic).
// All 32 lanes must call it (whole warps exit together in the GEMV kernel).
__device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
    for (int offset = kWarpSize / 2; offset > 0; offset >>= 1)
        v = pn_add(v, __shfl_xor_sync(0xFFFFFFFFu, v, offset));
    return v;
}

} // namespace pn
