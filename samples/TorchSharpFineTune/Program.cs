// Peft.Net on TorchSharp: a TorchSharp Llama loads an HF checkpoint, gets LoRA in one line, trains, saves an adapter
// that the engine's `peft generate --adapter` then uses with the same greedy output.
// Run: dotnet run --project samples/TorchSharpFineTune -c Release [-- --quick] [-- --model <dir>] [-- --threads N]
return TorchSharpFineTune.TorchFineTuneApp.Run(args);
