// cuda_host_shim.h — lets g++ compile the kernel sources (dequant4.cu, gemv4.cu) for the CPU and run them thread by
// thread, so the same code the GPU runs can be checked on a machine without one.
//
//   * __global__/__device__/__host__/__launch_bounds__ are defined away; the bodies take their host branches in
//     pn_platform.cuh (plain IEEE float32, software RNE to f16/bf16 identical to CUDA's).
//   * threadIdx/blockIdx/blockDim/gridDim are globals set by the launchers below.
//   * launch_threads(): runs every thread of the grid, one after another (kernels with no cross-thread step).
//   * launch_warps(): runs the 32 lanes of each warp as coroutines (ucontext) switching at every
//     __shfl_xor_sync, which therefore has exactly the SIMT meaning: all lanes deposit, then all read their partner.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <ucontext.h>
#include <vector>

#define __host__
#define __device__
#define __global__
#define __forceinline__ inline
#define __launch_bounds__(...)

struct dim3
{
    unsigned int x = 1, y = 1, z = 1;
};

namespace pn_host {

inline dim3 g_threadIdx, g_blockIdx, g_blockDim, g_gridDim;

[[noreturn]] inline void fail(const char* message)
{
    std::fprintf(stderr, "cuda_host_shim: %s\n", message);
    std::abort();
}

// ---- warp emulation ------------------------------------------------------------------------------------------
constexpr int kWarp = 32;
constexpr size_t kStackBytes = 256 * 1024;

struct Lane
{
    ucontext_t context;
    bool done;
    float slot;
};

struct Warp
{
    ucontext_t scheduler;
    Lane lanes[kWarp];
    int current;
    unsigned int first_thread;           // threadIdx.x of lane 0
    const std::function<void()>* kernel;
    std::vector<char> stacks = std::vector<char>(kStackBytes * kWarp);
};

inline Warp* g_warp = nullptr;

inline void lane_main()
{
    (*g_warp->kernel)();
    g_warp->lanes[g_warp->current].done = true;   // uc_link returns to the scheduler
}

// Back to the scheduler until every live lane of the warp has reached the same point.
inline void warp_barrier()
{
    Lane& me = g_warp->lanes[g_warp->current];
    swapcontext(&me.context, &g_warp->scheduler);
}

// Own function: getcontext "returns twice" in principle, so keep it away from the scheduler's locals.
[[gnu::noinline]] inline void prepare_lane(Warp& warp, int l)
{
    Lane& lane = warp.lanes[l];
    lane.done = false;
    getcontext(&lane.context);
    lane.context.uc_stack.ss_sp = warp.stacks.data() + static_cast<size_t>(l) * kStackBytes;
    lane.context.uc_stack.ss_size = kStackBytes;
    lane.context.uc_link = &warp.scheduler;
    makecontext(&lane.context, lane_main, 0);
}

inline void run_warp(Warp& warp)
{
    for (int l = 0; l < kWarp; l++)
        prepare_lane(warp, l);
    for (;;)
    {
        bool any_live = false;
        for (int l = 0; l < kWarp; l++)
        {
            if (warp.lanes[l].done) continue;
            any_live = true;
            warp.current = l;
            g_threadIdx.x = warp.first_thread + l;
            swapcontext(&warp.scheduler, &warp.lanes[l].context);
        }
        if (!any_live) return;
    }
}

// Runs kernel() once per thread of the grid; whole warps run as coroutines (blockDim.x must be a multiple of 32).
inline void launch_warps(unsigned int grid, unsigned int block, const std::function<void()>& kernel)
{
    if (block % kWarp != 0) fail("launch_warps needs a block size that is a multiple of 32");
    Warp warp;
    warp.kernel = &kernel;
    g_gridDim = dim3{grid, 1, 1};
    g_blockDim = dim3{block, 1, 1};
    g_warp = &warp;
    for (unsigned int b = 0; b < grid; b++)
    {
        g_blockIdx = dim3{b, 0, 0};
        for (unsigned int w = 0; w < block / kWarp; w++)
        {
            warp.first_thread = w * kWarp;
            run_warp(warp);
        }
    }
    g_warp = nullptr;
}

// Runs kernel() once per thread of the grid, sequentially. Kernels launched this way must not shuffle.
inline void launch_threads(unsigned int grid, unsigned int block, const std::function<void()>& kernel)
{
    g_gridDim = dim3{grid, 1, 1};
    g_blockDim = dim3{block, 1, 1};
    for (unsigned int b = 0; b < grid; b++)
    {
        g_blockIdx = dim3{b, 0, 0};
        for (unsigned int t = 0; t < block; t++)
        {
            g_threadIdx = dim3{t, 0, 0};
            kernel();
        }
    }
}

} // namespace pn_host

#define threadIdx (pn_host::g_threadIdx)
#define blockIdx (pn_host::g_blockIdx)
#define blockDim (pn_host::g_blockDim)
#define gridDim (pn_host::g_gridDim)

// SIMT meaning: every lane deposits its value, then every lane reads the value of lane (its lane ^ lane_mask).
inline float __shfl_xor_sync(unsigned int mask, float value, int lane_mask)
{
    using namespace pn_host;
    if (g_warp == nullptr) fail("__shfl_xor_sync outside launch_warps (launch this kernel with launch_warps)");
    if (mask != 0xFFFFFFFFu) fail("__shfl_xor_sync: only full-warp masks are emulated");
    const int me = g_warp->current;
    g_warp->lanes[me].slot = value;
    warp_barrier();                                   // all lanes have deposited
    for (int l = 0; l < kWarp; l++)
        if (g_warp->lanes[l].done) fail("__shfl_xor_sync: a lane of the warp has exited (divergent shuffle)");
    const float partner = g_warp->lanes[me ^ (lane_mask & (kWarp - 1))].slot;
    warp_barrier();                                   // all lanes have read before any deposits again
    return partner;
}
