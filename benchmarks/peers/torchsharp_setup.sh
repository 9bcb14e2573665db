#!/usr/bin/env bash
# Sourced by the TorchSharp peer scripts (from the repository root): builds the `peft` tool and the TorchSharp peer,
# sets PEFT and PEER to their paths, and loads print_machine (machine.sh).
# LibTorch's OpenMP threads spin while waiting by default; with other work on the cores that costs 10–100× (see
# samples/TorchSharpFineTune/TorchLlama/OpenMpWaitPolicy.cs). Passive waiting unless the caller chose a policy.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
dotnet build src/Peft.Net.Cli -c Release -v q -nologo >/dev/null
dotnet build benchmarks/TorchSharpPeer -c Release -v q -nologo >/dev/null
PEFT=artifacts/bin/Peft.Net.Cli/release/peft
PEER=artifacts/bin/TorchSharpPeer/release/TorchSharpPeer
source benchmarks/peers/machine.sh
