// dequant_body.cuh — per-thread bodies of the 4-bit blockwise dequantization kernels (NF4 and FP4).
//
// Format (docs: /work/shared/reference/nf4-format.md §1, §3, §4.4, §5.1):
//   n elements, blocksize B = 2^block_shift (32..4096), nb = ceil(n/B) blocks.
//   packed [ceil(n/2)]   byte k = (code[2k] << 4) | code[2k+1]: even flat index in the high nibble.
//   quant_map [16]       float32 LUT indexed by the 4-bit code (NF4 table, or FP4 in bit-pattern order).
//   plain absmax [nb]    float32.
//   nested absmax        codes [nb] uint8, nested_absmax [ceil(nb/256)] float32, nested_map [256] float32, offset:
//                        absmax[j] = fl32( fl32(nested_map[codes[j]] * nested_absmax[j >> nested_shift]) + offset )
//   out[i] = cvt_T( fl32(quant_map[code_i] * absmax[i >> block_shift]) ),  cvt_T = identity / RNE to f16 / RNE to bf16.
//
// Thread layout: thread t owns kBytes consecutive packed bytes (one 16- or 32-bit load) and the 2*kBytes outputs
// they decode to, written with ONE 16-byte store; consecutive threads own consecutive bytes, so each warp load and each
// warp store covers one contiguous span (fully coalesced). 2*kBytes (4 or 8) divides every blocksize, so all values
// of a thread share one block: one absmax lookup per thread. The last thread stops at n (odd n: the pad nibble is
// never written).
#pragma once
#include "pn_platform.cuh"

namespace pn {

// ---- where a block's absmax comes from ---------------------------------------------------------------------------
struct PlainAbsmax
{
    const float* absmax;          // [nb]
};

struct NestedAbsmax
{
    const unsigned char* codes;   // [nb]   8-bit codes of absmax - offset
    const float* nested_absmax;   // [ceil(nb / 2^nested_shift)]
    const float* nested_map;      // [256]  signed dynamic map
    float offset;                 // mean of the original absmax values
    int nested_shift;             // log2(nested blocksize), 8 for bitsandbytes
};

PN_HD float block_absmax(const PlainAbsmax& s, long long block)
{
    return load_f32(s.absmax + block);
}

// bitsandbytes' order: the 8-bit dequant multiply, then a separate add (no FMA).
PN_HD float block_absmax(const NestedAbsmax& s, long long block)
{
    float code_value = load_f32(s.nested_map + load_u8(s.codes + block));
    float scale = load_f32(s.nested_absmax + (block >> s.nested_shift));
    return pn_add(pn_mul(code_value, scale), s.offset);
}

// ---- output element types ----------------------------------------------------------------------------------------
// kBytes packed bytes per thread -> kValues = 2*kBytes outputs = exactly 16 bytes of output.
struct OutF32
{
    using Elem = float;
    static constexpr int kBytes = 2;
    PN_HD static Elem convert(float v) { return v; }
    PN_HD static U32x4 pack(const float (&v)[4])
    {
        return U32x4{float_bits(v[0]), float_bits(v[1]), float_bits(v[2]), float_bits(v[3])};
    }
};

struct OutF16
{
    using Elem = unsigned short;  // IEEE binary16 bits
    static constexpr int kBytes = 4;
    PN_HD static Elem convert(float v) { return float_to_half_bits(v); }
    PN_HD static U32x4 pack(const float (&v)[8])
    {
        return U32x4{pair(v[0], v[1]), pair(v[2], v[3]), pair(v[4], v[5]), pair(v[6], v[7])};
    }
    PN_HD static unsigned int pair(float lo, float hi)
    {
        return static_cast<unsigned int>(convert(lo)) | (static_cast<unsigned int>(convert(hi)) << 16);
    }
};

struct OutBF16
{
    using Elem = unsigned short;  // bfloat16 bits
    static constexpr int kBytes = 4;
    PN_HD static Elem convert(float v) { return float_to_bfloat16_bits(v); }
    PN_HD static U32x4 pack(const float (&v)[8])
    {
        return U32x4{pair(v[0], v[1]), pair(v[2], v[3]), pair(v[4], v[5]), pair(v[6], v[7])};
    }
    PN_HD static unsigned int pair(float lo, float hi)
    {
        return static_cast<unsigned int>(convert(lo)) | (static_cast<unsigned int>(convert(hi)) << 16);
    }
};

template <int kBytes> PN_HD unsigned int load_packed(const unsigned char* p);
template <> PN_HD unsigned int load_packed<2>(const unsigned char* p) { return load_u16(p); }
template <> PN_HD unsigned int load_packed<4>(const unsigned char* p) { return load_u32(p); }

// Number of threads a launch needs for n outputs of type Out.
template <typename Out>
PN_HD long long dequant4_thread_count(long long n)
{
    constexpr int kValues = 2 * Out::kBytes;
    return (n + kValues - 1) / kValues;
}

// The whole work of thread t (global index).
//   packed [ceil(n/2)], quant_map [16], out [n]
template <typename Out, typename Scale>
PN_HD void dequant4_thread(const unsigned char* packed, const Scale& scale, const float* quant_map,
                           typename Out::Elem* out, long long n, int block_shift, long long t)
{
    constexpr int kBytes = Out::kBytes;
    constexpr int kValues = 2 * kBytes;
    const long long first = t * kValues;
    if (first >= n) return;
    const float absmax = block_absmax(scale, first >> block_shift);

    if (first + kValues <= n)
    {
        const unsigned int bytes = load_packed<kBytes>(packed + t * kBytes);
        float v[kValues];
#pragma unroll
        for (int j = 0; j < kBytes; j++)
        {
            const unsigned int b = (bytes >> (8 * j)) & 0xFFu;
            v[2 * j] = pn_mul(load_f32(quant_map + (b >> 4)), absmax);
            v[2 * j + 1] = pn_mul(load_f32(quant_map + (b & 0xFu)), absmax);
        }
        store_16(out + first, Out::pack(v));
        return;
    }

    // Tail thread: fewer than kValues outputs left; byte loads, scalar stores, the pad nibble is skipped.
#pragma unroll 1
    for (long long i = first; i < n; i++)
    {
        const unsigned int b = load_u8(packed + (i >> 1));
        const unsigned int code = (i & 1) ? (b & 0xFu) : (b >> 4);
        out[i] = Out::convert(pn_mul(load_f32(quant_map + code), absmax));
    }
}

} // namespace pn
