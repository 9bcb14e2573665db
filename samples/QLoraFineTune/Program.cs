// Peft.Net QLoraFineTune: the QuickStart flow on a 4-bit (NF4 + double quantization) base, next to float32 LoRA.
// Run: dotnet run --project samples/QLoraFineTune -c Release [-- --quick] [-- --out <dir>]
return QLoraFineTune.QLoraApp.Run(args);
