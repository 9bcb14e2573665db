using System.CommandLine;
using Peft.Net.Cli.Commands.Train;
using Peft.Net.Cli.Infrastructure;

namespace Peft.Net.Cli.Commands;

/// <summary>
/// <c>peft train --model &lt;dir&gt; --data &lt;file.jsonl | file.txt&gt; -o &lt;adapter dir&gt; [--method lora|dora|qlora] [--rank 8]
/// [--alpha 16] [--dropout 0] [--target all-linear | q_proj,v_proj,…] [--bias none|all|lora_only] [--lr 2e-4] [--loraplus-ratio 0] [--neftune-alpha 0]
/// [--steps N | --epochs N] [--batch 4] [--seq 256] [--seed 0] [--eval-fraction 0.05] [--resume &lt;checkpoint dir&gt;]
/// [--gradient-checkpointing] [--quant-type nf4|fp4] [--blocksize 64] [--no-double-quant] [--optim adamw|adamw8bit|paged_adamw8bit|paged_adamw]
/// [--format auto|text|prompt-completion|chat] [--train-on-all]</c>:
/// fine-tunes a Llama-family model with an adapter and writes it in HF PEFT format, with a CSV training log and an SVG
/// loss plot. With <c>--method qlora</c> the base's linear layers are quantized to 4-bit straight from the checkpoint as
/// they are read (the 16-bit model is never in memory). Ctrl+C stops at the next step boundary and writes a checkpoint to resume from.
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "The base model folder (config.json + model.safetensors, tokenizer.json if any).", Required = true };
        var data = new Option<string>("--data") { Description = "Training data: JSONL rows {\"prompt\",\"completion\"}, {\"text\"} or {\"messages\"}, or a plain .txt file.", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "The adapter folder to write (adapter_config.json, adapter_model.safetensors, training_log.csv, loss.svg, checkpoints).", Required = true };
        var method = new Option<string>("--method") { Description = "lora, dora, or qlora (LoRA over a 4-bit NF4 base).", DefaultValueFactory = _ => "lora" };
        method.AcceptOnlyFromAmong("lora", "dora", "qlora");
        var rank = new Option<int>("--rank") { Description = "LoRA rank r.", DefaultValueFactory = _ => 8 };
        var alpha = new Option<float>("--alpha") { Description = "lora_alpha (scaling = alpha / r).", DefaultValueFactory = _ => 16f };
        var dropout = new Option<float>("--dropout") { Description = "Dropout on the LoRA branch input.", DefaultValueFactory = _ => 0f };
        var target = new Option<string>("--target") { Description = "all-linear, or comma-separated module names (q_proj,v_proj,…).", DefaultValueFactory = _ => "all-linear" };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate (cosine schedule with 3% warm-up).", DefaultValueFactory = _ => 2e-4 };
        var loraPlus = new Option<double>("--loraplus-ratio") { Description = "LoRA+: lora_B learns this many times faster (0 = plain AdamW).", DefaultValueFactory = _ => 0 };
        var neftune = new Option<float>("--neftune-alpha") { Description = "NEFTune noise alpha on the input embeddings (0 = off).", DefaultValueFactory = _ => 0f };
        var steps = new Option<int?>("--steps") { Description = "Optimizer steps (instead of --epochs)." };
        var epochs = new Option<int?>("--epochs") { Description = "Passes over the training data (default 1)." };
        var batch = new Option<int>("--batch") { Description = "Sequences per step.", DefaultValueFactory = _ => 4 };
        var accumulation = new Option<int>("--grad-accum") { Description = "Micro-batches accumulated per step.", DefaultValueFactory = _ => 1 };
        var seq = new Option<int>("--seq") { Description = "Longest sequence in tokens (longer examples are truncated; text is packed into chunks of this length).", DefaultValueFactory = _ => 256 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the data order, evaluation split and adapter initialisation.", DefaultValueFactory = _ => 0UL };
        var evalFraction = new Option<double>("--eval-fraction") { Description = "Fraction of the examples held out for the evaluation loss.", DefaultValueFactory = _ => 0.05 };
        var evalEvery = new Option<int>("--eval-every") { Description = "Compute the evaluation loss every N steps (and after the last).", DefaultValueFactory = _ => 50 };
        var saveEvery = new Option<int>("--save-every") { Description = "Write <output>/checkpoint-<step> every N steps (0 = only when interrupted).", DefaultValueFactory = _ => 0 };
        var resume = new Option<string?>("--resume") { Description = "Continue from a checkpoint folder written by an earlier run with the same data and settings." };
        var checkpointing = new Option<bool>("--gradient-checkpointing") { Description = "Recompute each decoder layer in the backward pass instead of keeping its activations (less memory, one more forward pass of the layers per step)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON summary object at the end instead of text." };
        var fourBit = new FourBitOptions();
        var optim = new Option<string>("--optim") { Description = "adamw, adamw8bit (8-bit moments), paged_adamw8bit or paged_adamw (large moments in a file the OS may page out).", DefaultValueFactory = _ => "adamw" };
        optim.AcceptOnlyFromAmong(OptimizerChoice.Names);
        var format = new Option<string>("--format") { Description = "auto (from the first row), text, prompt-completion, or chat ({\"messages\": […]} rows rendered with the model's chat_template).", DefaultValueFactory = _ => "auto" };
        format.AcceptOnlyFromAmong("auto", "text", "prompt-completion", "chat");
        var trainOnAll = new Option<bool>("--train-on-all") { Description = "Chat data: put loss on every token, not only on the assistant turns." };
        var bias = new Option<string>("--bias") { Description = "PEFT's bias mode: none, all (every bias of the model trains and is saved with the adapter) or lora_only (the biases of the adapted layers).", DefaultValueFactory = _ => "none" };
        var command = new Command("train", "Fine-tune a Llama-family model with LoRA, DoRA or QLoRA and write the adapter in HF PEFT format.")
        {
            model, data, output, method, rank, alpha, dropout, target, lr, loraPlus, neftune, steps, epochs, batch, accumulation, seq, seed,
            evalFraction, evalEvery, saveEvery, resume, checkpointing, json, optim, format, trainOnAll, bias,
        };
        fourBit.AddTo(command);
        command.SetCliAction((result, console) =>
        {
            if (result.GetValue(steps) is not null && result.GetValue(epochs) is not null)
                throw new CliUserException("give either --steps or --epochs, not both");
            var settings = new TrainSettings(
                result.GetValue(model)!, result.GetValue(data)!, result.GetValue(output)!, result.GetValue(method)!, result.GetValue(rank),
                result.GetValue(alpha), result.GetValue(dropout), result.GetValue(target)!, result.GetValue(lr), result.GetValue(loraPlus),
                result.GetValue(neftune), result.GetValue(steps), result.GetValue(epochs) ?? 1, result.GetValue(batch), result.GetValue(accumulation),
                result.GetValue(seq), result.GetValue(seed), result.GetValue(evalFraction), result.GetValue(evalEvery), result.GetValue(saveEvery), result.GetValue(resume),
                result.GetValue(checkpointing), result.GetValue(json), GlobalOptions.IsVerbose(result), fourBit.Read(result), result.GetValue(optim)!, result.GetValue(format)!, result.GetValue(trainOnAll),
                result.GetValue(bias)!);
            return TrainRunner.Run(console, settings);
        });
        return command;
    }
}
