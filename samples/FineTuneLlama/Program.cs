// Peft.Net FineTuneLlama: LoRA fine-tuning of a real Hugging Face Llama checkpoint (SmolLM, TinyLlama, …) on a JSONL file.
// Run: dotnet run --project samples/FineTuneLlama -c Release -- --model <checkpoint dir> --data <file.jsonl> [options]
return FineTuneLlama.FineTuneApp.Run(args, Console.Error);
