// big-checkpoint make <dir> [--dim 2048 --layers 22 --heads 32 --kv-heads 4 --ffn 5632 --vocab 32000]
//   writes a random BF16 Llama checkpoint of that shape (config.json + model.safetensors), one tensor at a time.
// big-checkpoint load <dir> [--4bit nf4|fp4|none]
//   loads it with LlamaForCausalLM.FromPretrained (straight to 4-bit unless --4bit none) and prints one JSON line:
//   the process's peak resident set (VmHWM), the model's 4-bit and unquantized bytes, and their ratio.
using BigCheckpoint;

if (args.Length < 2 || args[0] is not ("make" or "load"))
{
    Console.Error.WriteLine("usage: big-checkpoint make <dir> [--dim D --layers L --heads H --kv-heads K --ffn F --vocab V] | load <dir> [--4bit nf4|fp4|none]");
    return 1;
}
var options = Options.Parse(args.AsSpan(2));
return args[0] == "make" ? CheckpointMaker.Make(args[1], options) : LoadMeasurement.Run(args[1], options);
