// pn_platform.cuh — what the kernel bodies need from the platform, for both builds of the same source:
//   * nvcc (device code, PTX): CUDA intrinsics (__fmul_rn, __ldg, __float2half_rn, cvt.rn.bf16.f32, 16-byte vector stores);
//   * g++ (host emulation, host/cuda_host_shim.h): plain IEEE float32 arithmetic and the software roundings below.
// Every arithmetic step of a kernel goes through pn_mul/pn_add/pn_fma so neither compiler can contract a*b+c into an
// FMA (or split an FMA) behind our back: the operation order is part of the format (nf4-format.md §4.4).
#pragma once

#if defined(__CUDACC__)
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#define PN_HD __host__ __device__ __forceinline__
#else
#include <cmath>
#include <cstring>
#define PN_HD inline
#endif

namespace pn {

// 16 bytes stored with one vector instruction on the device (st.global.v4.u32).
struct alignas(16) U32x4 { unsigned int x, y, z, w; };

// ---- bit casts -------------------------------------------------------------------------------------------------
PN_HD unsigned int float_bits(float v)
{
#if defined(__CUDA_ARCH__)
    return __float_as_uint(v);
#else
    unsigned int u;
    std::memcpy(&u, &v, 4);
    return u;
#endif
}

// ---- float32 arithmetic, one rounding per operation ------------------------------------------------------------
PN_HD float pn_mul(float a, float b)
{
#if defined(__CUDA_ARCH__)
    return __fmul_rn(a, b);   // never contracted into an FMA
#else
    return a * b;             // host build uses -ffp-contract=off
#endif
}

PN_HD float pn_add(float a, float b)
{
#if defined(__CUDA_ARCH__)
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}

// fl32(a*b + c) with a single rounding (IEEE fusedMultiplyAdd; C#: MathF.FusedMultiplyAdd).
PN_HD float pn_fma(float a, float b, float c)
{
#if defined(__CUDA_ARCH__)
    return __fmaf_rn(a, b, c);
#else
    return std::fmaf(a, b, c);
#endif
}

// ---- read-only loads (ld.global.nc on the device) ------------------------------------------------------------
PN_HD float load_f32(const float* p)
{
#if defined(__CUDA_ARCH__)
    return __ldg(p);
#else
    return *p;
#endif
}

PN_HD unsigned int load_u8(const unsigned char* p)
{
#if defined(__CUDA_ARCH__)
    return __ldg(p);
#else
    return *p;
#endif
}

// 2 packed bytes as one 16-bit load; the byte at the lower address is bits 0..7. p is 2-byte aligned.
PN_HD unsigned int load_u16(const unsigned char* p)
{
#if defined(__CUDA_ARCH__)
    return __ldg(reinterpret_cast<const unsigned short*>(p));
#else
    return static_cast<unsigned int>(p[0]) | (static_cast<unsigned int>(p[1]) << 8);
#endif
}

// 4 packed bytes as one 32-bit load (the uchar4 of the brief); lower address = low bits. p is 4-byte aligned.
PN_HD unsigned int load_u32(const unsigned char* p)
{
#if defined(__CUDA_ARCH__)
    return __ldg(reinterpret_cast<const unsigned int*>(p));
#else
    return static_cast<unsigned int>(p[0]) | (static_cast<unsigned int>(p[1]) << 8)
         | (static_cast<unsigned int>(p[2]) << 16) | (static_cast<unsigned int>(p[3]) << 24);
#endif
}

// 16 packed bytes as one 128-bit load. p is 16-byte aligned.
PN_HD U32x4 load_u32x4(const unsigned char* p)
{
#if defined(__CUDA_ARCH__)
    uint4 v = __ldg(reinterpret_cast<const uint4*>(p));
    return U32x4{v.x, v.y, v.z, v.w};
#else
    return U32x4{load_u32(p), load_u32(p + 4), load_u32(p + 8), load_u32(p + 12)};
#endif
}

// 4 floats as one 128-bit load. p is 16-byte aligned.
PN_HD void load_f32x4(const float* p, float (&v)[4])
{
#if defined(__CUDA_ARCH__)
    float4 q = __ldg(reinterpret_cast<const float4*>(p));
    v[0] = q.x; v[1] = q.y; v[2] = q.z; v[3] = q.w;
#else
    v[0] = p[0]; v[1] = p[1]; v[2] = p[2]; v[3] = p[3];
#endif
}

// One 128-bit store. p is 16-byte aligned.
PN_HD void store_16(void* p, U32x4 v)
{
#if defined(__CUDA_ARCH__)
    *reinterpret_cast<uint4*>(p) = make_uint4(v.x, v.y, v.z, v.w);
#else
    std::memcpy(p, &v, 16);
#endif
}

// ---- float32 -> float16 / bfloat16, round to nearest even ------------------------------------------------------
// The device uses CUDA's own conversions; the host versions below reproduce them bit for bit, NaN included
// (CUDA returns the canonical NaN 0x7FFF for both types).

PN_HD unsigned short float_to_half_bits_soft(float value)
{
    unsigned int x = float_bits(value);
    unsigned int sign = (x >> 16) & 0x8000u;
    unsigned int ax = x & 0x7FFFFFFFu;
    if (ax > 0x7F800000u) return 0x7FFFu;                          // NaN
    int e = static_cast<int>(ax >> 23) - 127;                     // unbiased exponent
    if (e > 15) return static_cast<unsigned short>(sign | 0x7C00u); // |v| >= 65536 (and inf): infinity
    unsigned int mant = ax & 0x7FFFFFu;
    unsigned int h, rem, halfway;
    if (e >= -14)
    {   // normal half: 10 mantissa bits, drop 13
        h = (static_cast<unsigned int>(e + 15) << 10) | (mant >> 13);
        rem = mant & 0x1FFFu;
        halfway = 0x1000u;
    }
    else
    {   // subnormal half (or zero): h = round(|v| * 2^24)
        if (e < -25) return static_cast<unsigned short>(sign);   // below half the smallest subnormal (and float subnormals)
        mant |= 0x800000u;
        int shift = -e - 1;                                       // 14..24
        h = mant >> shift;
        rem = mant & ((1u << shift) - 1u);
        halfway = 1u << (shift - 1);
    }
    if (rem > halfway || (rem == halfway && (h & 1u))) h++;       // may carry into the exponent / reach 0x7C00: correct
    return static_cast<unsigned short>(sign | h);
}

PN_HD unsigned short float_to_bfloat16_bits_soft(float value)
{
    unsigned int x = float_bits(value);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FFFu;          // NaN
    unsigned int r = x >> 16, remainder = x << 16;
    if (remainder > 0x80000000u || (remainder == 0x80000000u && (r & 1u))) r++;
    return static_cast<unsigned short>(r);
}

PN_HD unsigned short float_to_half_bits(float value)
{
#if defined(__CUDA_ARCH__)
    const __half_raw raw = __float2half_rn(value);
    return raw.x;
#else
    return float_to_half_bits_soft(value);
#endif
}

PN_HD unsigned short float_to_bfloat16_bits(float value)
{
#if defined(__CUDA_ARCH__)
    const __nv_bfloat16_raw raw = __float2bfloat16_rn(value);
    return raw.x;
#else
    return float_to_bfloat16_bits_soft(value);
#endif
}

} // namespace pn
