// dequant_host.cpp — runs the kernels of dequant4.cu and gemv4.cu on the CPU (every thread index, launch shapes as
// the C# runtime uses them) over case files, and writes the outputs. Built by build_host.sh; driven by the
// C# tests in tests/Peft.Net.Cuda.Tests (HostEmulation*).
//
// usage: dequant_host CASE_FILE OUT_FILE      one case
//        dequant_host --batch DIR             every DIR/*.case -> DIR/*.out
//        dequant_host --convert IN F16 BF16   float32 values (raw) -> the kernels' float16 / bfloat16 bits (raw u16)
//
// Case file (little-endian):
//   char[8]  "PNQ4CASE"
//   i32 op            0 = dequantize, 1 = gemv
//   i32 out_type      0 = f32, 1 = f16, 2 = bf16 (gemv: 0)
//   i32 nested        0 = float32 absmax, 1 = double-quantized absmax
//   i32 block_shift   log2(blocksize)
//   i32 nested_shift  log2(nested blocksize) (nested only, else 0)
//   i64 n             element count (gemv: rows * cols)
//   i64 rows, cols    gemv weight shape [N, K] (dequantize: 0, 0)
//   f32 offset        nested offset (else 0)
//   f32 quant_map[16]
//   i64 len, u8[len]  packed codes
//   plain:  i64 len, f32[len] absmax
//   nested: i64 len, u8[len] absmax codes; i64 len, f32[len] nested absmax; f32[256] nested map
//   gemv:   f32[cols] x
// Output: dequantize: n elements (4 or 2 bytes each); gemv: rows f32.
#include "cuda_host_shim.h"
#include "../dequant4.cu"
#include "../gemv4.cu"

#include <cstdint>
#include <cstring>
#include <dirent.h>
#include <string>
#include <utility>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& what)
{
    std::fprintf(stderr, "dequant_host: %s\n", what.c_str());
    std::exit(2);
}

// Device allocations are 256-byte aligned; host buffers mimic that (vector loads assume it).
struct Buffer
{
    void* data = nullptr;
    size_t bytes = 0;
    Buffer() = default;
    explicit Buffer(size_t n) { allocate(n); }
    void allocate(size_t n)
    {
        std::free(data);
        data = nullptr;
        bytes = n;
        // Exactly n bytes (no rounding up), so AddressSanitizer flags any access past the end.
        if (n && posix_memalign(&data, 256, n) != 0) die("out of memory");
    }
    ~Buffer() { std::free(data); }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    template <typename T> T* as() const { return static_cast<T*>(data); }
};

struct Reader
{
    FILE* f;
    std::string path;
    template <typename T> T read()
    {
        T v;
        if (std::fread(&v, sizeof(T), 1, f) != 1) die(path + ": truncated");
        return v;
    }
    void read_into(void* dst, size_t bytes)
    {
        if (bytes && std::fread(dst, 1, bytes, f) != bytes) die(path + ": truncated");
    }
    size_t read_len(size_t elem, size_t expected, const char* what)
    {
        int64_t len = read<int64_t>();
        if (len < 0 || static_cast<size_t>(len) != expected)
            die(path + ": " + what + " has " + std::to_string(len) + " elements, expected " + std::to_string(expected));
        (void)elem;
        return static_cast<size_t>(len);
    }
};

unsigned int grid_for(long long threads, unsigned int block)
{
    long long blocks = (threads + block - 1) / block;
    if (blocks > 0x7FFFFFFFLL) die("grid too large");
    return static_cast<unsigned int>(blocks);
}

void run_case(const std::string& in_path, const std::string& out_path)
{
    FILE* f = std::fopen(in_path.c_str(), "rb");
    if (!f) die(in_path + ": cannot open");
    Reader r{f, in_path};
    char magic[8];
    r.read_into(magic, 8);
    if (std::memcmp(magic, "PNQ4CASE", 8) != 0) die(in_path + ": not a case file");
    const int op = r.read<int32_t>(), out_type = r.read<int32_t>(), nested = r.read<int32_t>();
    const int block_shift = r.read<int32_t>(), nested_shift = r.read<int32_t>();
    const long long n = r.read<int64_t>(), rows = r.read<int64_t>(), cols = r.read<int64_t>();
    const float offset = r.read<float>();
    if (op != 0 && op != 1) die(in_path + ": bad op");
    if (block_shift < 5 || block_shift > 12) die(in_path + ": blocksize must be 32..4096");
    if (n < 0 || (op == 1 && (rows < 0 || cols < 0 || rows * cols != n))) die(in_path + ": bad sizes");
    const long long nb = (n + (1LL << block_shift) - 1) >> block_shift;

    Buffer quant_map(16 * sizeof(float));
    r.read_into(quant_map.data, 16 * sizeof(float));
    Buffer packed(r.read_len(1, static_cast<size_t>((n + 1) / 2), "packed"));
    r.read_into(packed.data, packed.bytes);
    Buffer absmax, codes, nested_absmax, nested_map;
    if (!nested)
    {
        absmax.allocate(r.read_len(4, static_cast<size_t>(nb), "absmax") * sizeof(float));
        r.read_into(absmax.data, absmax.bytes);
    }
    else
    {
        if (nested_shift < 1 || nested_shift > 16) die(in_path + ": bad nested blocksize");
        codes.allocate(r.read_len(1, static_cast<size_t>(nb), "absmax codes"));
        r.read_into(codes.data, codes.bytes);
        const long long nnb = (nb + (1LL << nested_shift) - 1) >> nested_shift;
        nested_absmax.allocate(r.read_len(4, static_cast<size_t>(nnb), "nested absmax") * sizeof(float));
        r.read_into(nested_absmax.data, nested_absmax.bytes);
        nested_map.allocate(256 * sizeof(float));
        r.read_into(nested_map.data, nested_map.bytes);
    }

    const unsigned char* p = packed.as<unsigned char>();
    const float* am = absmax.as<float>();
    const unsigned char* ac = codes.as<unsigned char>();
    const float* na = nested_absmax.as<float>();
    const float* nm = nested_map.as<float>();
    const float* qm = quant_map.as<float>();

    size_t out_bytes;
    Buffer output;
    Buffer* out = &output;
    if (op == 0)
    {
        const size_t elem = out_type == 0 ? 4 : 2;
        out_bytes = static_cast<size_t>(n) * elem;
        output.allocate(out_bytes);
        const unsigned int block = PN_DEQUANT_BLOCK_THREADS;
        long long threads;
        std::function<void()> kernel;
        switch (out_type * 2 + nested)
        {
        case 0: threads = pn::dequant4_thread_count<pn::OutF32>(n);
            kernel = [&] { pn_dequant4_f32_plain(p, am, ac, na, nm, offset, nested_shift, qm, out->as<float>(), n, block_shift); }; break;
        case 1: threads = pn::dequant4_thread_count<pn::OutF32>(n);
            kernel = [&] { pn_dequant4_f32_nested(p, am, ac, na, nm, offset, nested_shift, qm, out->as<float>(), n, block_shift); }; break;
        case 2: threads = pn::dequant4_thread_count<pn::OutF16>(n);
            kernel = [&] { pn_dequant4_f16_plain(p, am, ac, na, nm, offset, nested_shift, qm, out->as<unsigned short>(), n, block_shift); }; break;
        case 3: threads = pn::dequant4_thread_count<pn::OutF16>(n);
            kernel = [&] { pn_dequant4_f16_nested(p, am, ac, na, nm, offset, nested_shift, qm, out->as<unsigned short>(), n, block_shift); }; break;
        case 4: threads = pn::dequant4_thread_count<pn::OutBF16>(n);
            kernel = [&] { pn_dequant4_bf16_plain(p, am, ac, na, nm, offset, nested_shift, qm, out->as<unsigned short>(), n, block_shift); }; break;
        case 5: threads = pn::dequant4_thread_count<pn::OutBF16>(n);
            kernel = [&] { pn_dequant4_bf16_nested(p, am, ac, na, nm, offset, nested_shift, qm, out->as<unsigned short>(), n, block_shift); }; break;
        default: die(in_path + ": bad out_type");
        }
        pn_host::launch_threads(grid_for(threads, block), block, kernel);
    }
    else
    {
        if (out_type != 0) die(in_path + ": gemv writes f32");
        Buffer x(static_cast<size_t>(cols) * sizeof(float));
        r.read_into(x.data, x.bytes);
        out_bytes = static_cast<size_t>(rows) * sizeof(float);
        output.allocate(out_bytes);
        const float* xp = x.as<float>();
        float* y = out->as<float>();
        const unsigned int block = PN_GEMV_BLOCK_THREADS;
        const long long rows_per_block = PN_GEMV_BLOCK_THREADS / pn::kWarpSize;
        std::function<void()> kernel;
        if (nested) kernel = [&] { pn_gemv4_nested(p, am, ac, na, nm, offset, nested_shift, qm, xp, y, rows, cols, block_shift); };
        else kernel = [&] { pn_gemv4_plain(p, am, ac, na, nm, offset, nested_shift, qm, xp, y, rows, cols, block_shift); };
        pn_host::launch_warps(grid_for(rows, static_cast<unsigned int>(rows_per_block)), block, kernel);
    }
    if (std::fgetc(f) != EOF) die(in_path + ": trailing bytes");
    std::fclose(f);

    FILE* o = std::fopen(out_path.c_str(), "wb");
    if (!o) die(out_path + ": cannot create");
    if (out_bytes && std::fwrite(out->data, 1, out_bytes, o) != out_bytes) die(out_path + ": write failed");
    std::fclose(o);
}

// The roundings the kernels use (pn::float_to_half_bits / float_to_bfloat16_bits), applied to a file of floats.
void convert(const std::string& in_path, const std::string& f16_path, const std::string& bf16_path)
{
    FILE* f = std::fopen(in_path.c_str(), "rb");
    if (!f) die(in_path + ": cannot open");
    std::vector<float> values;
    float v;
    while (std::fread(&v, sizeof v, 1, f) == 1) values.push_back(v);
    std::fclose(f);
    std::vector<unsigned short> half(values.size()), bf16(values.size());
    for (size_t i = 0; i < values.size(); i++)
    {
        half[i] = pn::float_to_half_bits(values[i]);
        bf16[i] = pn::float_to_bfloat16_bits(values[i]);
    }
    for (auto [path, data] : {std::pair{f16_path, &half}, std::pair{bf16_path, &bf16}})
    {
        FILE* o = std::fopen(path.c_str(), "wb");
        if (!o || std::fwrite(data->data(), 2, data->size(), o) != data->size()) die(path + ": write failed");
        std::fclose(o);
    }
}

} // namespace

int main(int argc, char** argv)
{
    if (argc == 3 && std::strcmp(argv[1], "--batch") == 0)
    {
        DIR* d = opendir(argv[2]);
        if (!d) die(std::string(argv[2]) + ": cannot open directory");
        int count = 0;
        while (dirent* e = readdir(d))
        {
            std::string name = e->d_name;
            if (name.size() > 5 && name.compare(name.size() - 5, 5, ".case") == 0)
            {
                std::string base = std::string(argv[2]) + "/" + name.substr(0, name.size() - 5);
                run_case(base + ".case", base + ".out");
                count++;
            }
        }
        closedir(d);
        std::printf("dequant_host: %d cases\n", count);
        return 0;
    }
    if (argc == 5 && std::strcmp(argv[1], "--convert") == 0)
    {
        convert(argv[2], argv[3], argv[4]);
        return 0;
    }
    if (argc == 3)
    {
        run_case(argv[1], argv[2]);
        return 0;
    }
    std::fprintf(stderr, "usage: dequant_host CASE_FILE OUT_FILE | dequant_host --batch DIR | dequant_host --convert IN F16 BF16\n");
    return 2;
}
