#!/usr/bin/env bash
# The consumer experience, end to end, as a new user meets it:
#   1. pack every package of the solution into a fresh local feed (a temp folder);
#   2. create a console app outside the solution, `dotnet add package Peft.Net --version <ver>` from that feed,
#      build and run Program.cs (trains a small model, then LoRA adapters on it with model.ApplyLora(rank: 8);
#      exit code 0 only when both losses go down and the base stays frozen);
#   3. `dotnet tool install` the `peft` tool from the same feed into a tool path and run it.
# Restores go to an empty NUGET_PACKAGES folder, and Peft.Net* may only come from the temp feed (package source
# mapping), so neither a stale cache nor a package of the same name on another source can leak in. Third-party
# packages come from the machine's global packages folder (offline) or, failing that, its default NuGet sources.
# Usage: tests/consumer/run.sh [--keep]   (--keep leaves the temp folder for a look; CI runs it without)
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
keep=false
[ "${1:-}" = "--keep" ] && keep=true
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

work=$(mktemp -d "${TMPDIR:-/tmp}/peft-consumer.XXXXXX")
cleanup() { if $keep; then echo "consumer: kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
feed=$work/feed app=$work/app tools=$work/tools
mkdir -p "$feed" "$app" "$tools"
started=$SECONDS
step() { echo "consumer [$((SECONDS - started))s]: $*"; }

# The machine's global packages folder, read before NUGET_PACKAGES points elsewhere.
machine_packages=$(dotnet nuget locals global-packages --list | sed -E 's/^global-packages: *//')

step "pack the solution into $feed"
dotnet pack "$repo/Peft.Net.sln" -c Release -p:PackageOutputPath="$feed" -v:q -nologo
version=$(dotnet msbuild "$repo/src/Peft.Net/Peft.Net.csproj" -getProperty:Version -nologo)
for id in Peft.Net Peft.Net.Core Peft.Net.Models Peft.Net.Cuda Peft.Net.TorchSharp Peft.Net.Cli; do
  for ext in nupkg snupkg; do
    [ -f "$feed/$id.$version.$ext" ] || { echo "consumer: FAIL: $id.$version.$ext was not packed" >&2; exit 1; }
  done
done
if ls "$feed" | grep -Eiq 'tests|benchmarks|samples'; then
  echo "consumer: FAIL: a test, benchmark or sample project was packed: $(ls "$feed" | tr '\n' ' ')" >&2
  exit 1
fi

export NUGET_PACKAGES=$work/nuget-packages

# The app's nuget.config adds the feed and the machine's package folder; the default sources stay (no <clear/>).
# Mapping: Peft.Net* only from the feed, everything else from any other source, so the default sources need
# their keys listed; they are read from `dotnet nuget list source` (names only, no address is written here).
cd "$app"
dotnet new console --framework net10.0 --name ConsumerApp --output . >/dev/null
xml_escape() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'; }
write_config() { # the extra source keys that get pattern "*"
  {
    echo '<?xml version="1.0" encoding="utf-8"?>'
    echo '<configuration>'
    echo '  <packageSources>'
    echo "    <add key=\"peft-consumer-feed\" value=\"$(printf '%s' "$feed" | xml_escape)\" />"
    [ -d "$machine_packages" ] && echo "    <add key=\"peft-consumer-machine-packages\" value=\"$(printf '%s' "$machine_packages" | xml_escape)\" />"
    echo '  </packageSources>'
    echo '  <packageSourceMapping>'
    echo '    <packageSource key="peft-consumer-feed"><package pattern="Peft.Net" /><package pattern="Peft.Net.*" /></packageSource>'
    local key
    for key in "$@"; do
      echo "    <packageSource key=\"$(printf '%s' "$key" | xml_escape)\"><package pattern=\"*\" /></packageSource>"
    done
    echo '  </packageSourceMapping>'
    echo '</configuration>'
  } > nuget.config
}
write_config
mapfile -t other_sources < <(dotnet nuget list source --format Detailed \
  | sed -nE 's/^ *[0-9]+\. +(.+) \[Enabled\]$/\1/p' | grep -vx 'peft-consumer-feed')
write_config "${other_sources[@]}"
step "sources for everything but Peft.Net*: ${other_sources[*]}"

step "dotnet add package Peft.Net --version $version"
dotnet add package Peft.Net --version "$version" >/dev/null
cp "$repo/tests/consumer/Program.cs" Program.cs
step "build and run the app"
dotnet build -c Release -nologo -v:q
resolved=$(find "$NUGET_PACKAGES" -maxdepth 2 -path '*/peft.net*/*' -type d | sed "s|$NUGET_PACKAGES/||" | sort | tr '\n' ' ')
step "restored from the feed: $resolved"
dotnet run -c Release --no-build -- "$work"

# The tool is installed as the docs say, with --add-source (which NuGet refuses next to source mapping, so this
# runs outside the app folder); the installed peft.dll is then compared with the one in the feed's package.
step "dotnet tool install Peft.Net.Cli --version $version --add-source <feed>"
cd "$work"
dotnet tool install Peft.Net.Cli --tool-path "$tools" --add-source "$feed" --version "$version" >/dev/null
installed_dll=$(find "$tools/.store" -name peft.dll -path '*/tools/*' | head -n 1)
unzip -p "$feed/Peft.Net.Cli.$version.nupkg" tools/net10.0/any/peft.dll > "$work/packed-peft.dll"
cmp -s "$installed_dll" "$work/packed-peft.dll" \
  || { echo "consumer: FAIL: the installed tool ($installed_dll) is not the one in the feed" >&2; exit 1; }
peft=$tools/peft
"$peft" --help
"$peft" inspect "$work/tiny-mlp.safetensors"
"$peft" inspect "$work/tiny-mlp.safetensors" --json | grep -q '"fc1.weight"' \
  || { echo "consumer: FAIL: peft inspect --json does not list fc1.weight" >&2; exit 1; }
"$peft" inspect "$work/mlp-adapter"
"$peft" merge --base "$work/tiny-mlp.safetensors" --adapter "$work/mlp-adapter" -o "$work/tiny-mlp-merged.safetensors"
"$peft" inspect "$work/tiny-mlp-merged.safetensors" --json | grep -q '"fc2.weight"' \
  || { echo "consumer: FAIL: the merged file has no fc2.weight" >&2; exit 1; }
"$peft" bench gemm --m 64 --n 64 --k 64 --repeats 5
"$peft" bench gemm --m 64 --n 64 --k 64 --repeats 5 --json | grep -q '"gflops"' \
  || { echo "consumer: FAIL: peft bench gemm --json has no gflops" >&2; exit 1; }

# A TorchSharp app: Peft.Net.TorchSharp from the feed, the CPU LibTorch for Linux, and the package's opt-in fix for
# Debian 12's libstdc++ (GLIBCXX_3.4.32), exactly as docs/torchsharp.md tells a user to set it up.
step "TorchSharp app: dotnet add package Peft.Net.TorchSharp + libtorch-cpu-linux-x64"
tsapp=$work/tsapp
mkdir -p "$tsapp"
cp "$app/nuget.config" "$tsapp/nuget.config"
cd "$tsapp"
dotnet new console --framework net10.0 --name TorchSharpConsumerApp --output . >/dev/null
dotnet add package Peft.Net.TorchSharp --version "$version" >/dev/null
dotnet add package libtorch-cpu-linux-x64 --version 2.10.0 >/dev/null
sed -i 's#</PropertyGroup>#  <PeftNetFixLibTorchSharpGlibcxx>true</PeftNetFixLibTorchSharpGlibcxx>\n  </PropertyGroup>#' TorchSharpConsumerApp.csproj
cp "$repo/tests/consumer/TorchSharpProgram.cs" Program.cs
dotnet build -c Release -nologo -v:q
dotnet run -c Release --no-build -- "$work"
[ -f "$work/torchsharp-adapter/adapter_config.json" ] || { echo "consumer: FAIL: the TorchSharp app wrote no adapter" >&2; exit 1; }

step "passed (Peft.Net $version)"
