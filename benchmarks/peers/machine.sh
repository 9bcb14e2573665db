#!/usr/bin/env bash
# Sourced by the peer scripts: print_machine PEFT THREADS prints, before any timing, the machine the numbers come from —
# the CPU's model name, family/model/stepping (/proc/cpuinfo), logical cores, whether it has AVX-512, the GEMM kernel path
# the engine runs (`peft bench gemm --json` "kernel": Vector512 on AVX-512 CPUs, else Vector256), the thread count, the
# OpenMP wait policy LibTorch runs under, and the load average (other work on a shared machine shows here).
print_machine() {
  local peft=$1 threads=$2 field kernel avx512=no
  field() { grep -m1 "^$1[[:space:]]*:" /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'; }
  grep -qw avx512f /proc/cpuinfo && avx512=yes
  kernel=$("$peft" bench gemm --m 64 --n 64 --k 64 --repeats 5 --json | sed -E 's/.*"kernel": ?"([^"]*)".*/\1/')
  echo "machine: $(field 'model name') (cpu family $(field 'cpu family'), model $(field model), stepping $(field stepping)); $(nproc) logical cores; AVX-512: $avx512"
  echo "engine GEMM kernel: $kernel; threads: $threads (PEFT_NUM_THREADS / torch.set_num_threads); OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
}
