// Peft.Net MethodsShowdown: LoRA, DoRA, DoRA + NEFTune, LoRA+ and QLoRA on the same task, model, steps and seed.
// Run: dotnet run --project samples/MethodsShowdown -c Release [-- --quick] [-- --out <dir>]
return MethodsShowdown.ShowdownApp.Run(args);
