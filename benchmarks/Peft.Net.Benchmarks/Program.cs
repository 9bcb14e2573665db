using BenchmarkDotNet.Running;
using Peft.Net.Benchmarks;

if (args.Length > 0 && args[0] == "--pissa")
    PissaTiming.Run(args);
else if (args.Length > 0 && args[0] == "--cold-weights")
    ColdWeightGemm.Run(args);
else if (args.Length > 0 && args[0] == "--decode-attention")
    DecodeAttentionTiming.Run(args);
else if (args.Length > 0 && args[0] == "--training-attention")
    TrainingAttentionTiming.Run(args);
else if (args.Length > 0 && args[0] == "--kernel-ab")
    KernelSwitchAb.Run(args);
else if (args.Length > 0 && args[0] == "--lora-layer-parts")
    LoraLayerParts.Run(args);
else if (args.Length > 0 && args[0] == "--step-vs-gemm")
    StepVsGemm.Run(args);
else
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
