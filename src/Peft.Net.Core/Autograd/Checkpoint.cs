using Peft.Net.Core.Nn;

namespace Peft.Net.Core.Autograd;

/// <summary>
/// Gradient (activation) checkpointing, as PyTorch's <c>torch.utils.checkpoint</c> and Hugging Face's
/// <c>gradient_checkpointing_enable()</c>: a block runs without recording its graph, so only its inputs and outputs
/// stay alive between the forward and the backward pass; the backward pass runs the block again, this time recorded,
/// and back-propagates through that copy. Memory held by a model's activations drops to about one block's worth,
/// for the price of a second forward pass per block.
/// </summary>
/// <remarks>
/// The block must be a function of its inputs and of leaf tensors (parameters, buffers) only: a gradient does not
/// reach any other recorded tensor it reads. Dropout masks repeat on the recompute: the generators of the block's
/// <see cref="Dropout"/> modules are rewound to their state before the forward pass, then put back.
/// </remarks>
public static class Checkpoint
{
    // x: any shape → the block's output
    /// <summary>
    /// <c>block.Forward(input)</c>, checkpointed when recording is on and the input or a parameter of the block
    /// requires a gradient; otherwise simply <c>block.Forward(input)</c>.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static Tensor Run(Module block, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(block);
        ArgumentNullException.ThrowIfNull(input);
        return Run([block], inputs => [block.Forward(inputs[0])], input)[0];
    }

    /// <summary>
    /// <paramref name="forward"/>(<paramref name="inputs"/>), a computation with several inputs and outputs that uses
    /// the parameters and dropout of <paramref name="modules"/>, checkpointed when recording is on and an input or a
    /// parameter of those modules requires a gradient; otherwise it just runs. <paramref name="forward"/> receives
    /// stand-ins for the inputs (same values) and must depend on nothing recorded beyond them and the modules' leaves.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument, a module or an input is null.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="forward"/> returned null, or another number of outputs on the recompute.</exception>
    public static Tensor[] Run(IReadOnlyList<Module> modules, Func<Tensor[], Tensor[]> forward, params Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(modules);
        ArgumentNullException.ThrowIfNull(forward);
        ArgumentNullException.ThrowIfNull(inputs);
        foreach (var module in modules) ArgumentNullException.ThrowIfNull(module, nameof(modules));
        if (!GradMode.IsEnabled)
            return forward(inputs);
        bool parametersRequireGrad = modules.Any(m => m.TrainableParameters().Any());
        var generators = modules.SelectMany(m => m.NamedModules()).Select(m => m.Module).OfType<Dropout>()
            .Select(d => d.Random).ToArray();
        return Run(forward, inputs, parametersRequireGrad, generators);
    }

    /// <summary>
    /// The primitive: runs <paramref name="forward"/> without recording and attaches one node to its outputs that, in
    /// the backward pass, rewinds <paramref name="generators"/>, re-runs <paramref name="forward"/> recorded on stand-ins
    /// for the inputs (same storage, cut from the outer graph), back-propagates the outputs' gradients through it in a
    /// nested backward pass (parameters accumulate their <see cref="Tensor.Grad"/> as usual) and hands the stand-ins'
    /// gradients on to the inputs.
    /// </summary>
    internal static Tensor[] Run(Func<Tensor[], Tensor[]> forward, Tensor[] inputs, bool parametersRequireGrad, TensorRandom[] generators)
    {
        foreach (var input in inputs) ArgumentNullException.ThrowIfNull(input, nameof(inputs));
        if (!GradMode.IsEnabled || !(parametersRequireGrad || inputs.Any(x => x.RequiresGrad)))
            return forward(inputs);

        // The recompute takes its activations from the arena the forward pass records into (a model's Loss), if any.
        var segment = new Segment(forward, inputs, generators, ActivationArena.Current);
        var outputs = ActivationArena.RunDiscardingActivations(() =>
        {
            using var _ = Tensor.NoGrad();
            return CheckOutputs(forward(inputs), null);
        });

        // Every output hands its gradient to one hub node, which the topological order runs after all of them.
        var hub = Tensor.Scalar(0f);
        hub.SetNode(new AutogradNode("checkpoint", inputs, _ => segment.Backward()));
        var results = new Tensor[outputs.Length];
        segment.OutputGrads = new Tensor[outputs.Length];
        for (int j = 0; j < outputs.Length; j++)
        {
            int index = j;
            // A fresh tensor object even when the block returned an input unchanged: its node must not be the input's.
            results[j] = outputs[j].Detach();
            // A holder of the output's shape takes the gradient over, so the engine neither copies nor recycles it. Its
            // (never run) node marks it a pass's intermediate, so the buffer stays recyclable when handed on.
            var holder = segment.OutputGrads[j] = outputs[j].Detach();
            holder.SetNode(new AutogradNode("checkpoint_gradient", [], _ => { }));
            results[j].SetNode(new AutogradNode("checkpoint_output", [hub], g =>
            {
                holder.AccumulateGrad(g, handOver: true);
                hub.GradBuffer(); // marks the hub reached, so its node runs
            }));
        }
        return results;
    }

    /// <summary>What the backward pass of one checkpointed block needs: the block, its inputs and the dropout state.</summary>
    private sealed class Segment(Func<Tensor[], Tensor[]> forward, Tensor[] inputs, TensorRandom[] generators, ActivationArena? arena)
    {
        private readonly ulong[][] _rngStates = generators.Select(g => g.GetState()).ToArray();

        /// <summary>Per output, a holder whose <see cref="Tensor.Grad"/> receives the output's gradient.</summary>
        public Tensor[] OutputGrads { get; set; } = [];

        /// <summary>Re-runs the block recorded and back-propagates the outputs' gradients through it into the inputs.</summary>
        public void Backward()
        {
            // Stand-ins for the inputs that end the recomputed graph: a node without inputs whose backward hands the
            // gradient on to the real input (no copy when it has none yet).
            var detached = new Tensor[inputs.Length];
            for (int i = 0; i < inputs.Length; i++)
            {
                var input = inputs[i];
                detached[i] = input.Detach();
                if (input.RequiresGrad)
                    detached[i].SetNode(new AutogradNode("checkpoint_input", [], g => input.AccumulateGrad(g, handOver: true)));
            }

            var current = generators.Select(g => g.GetState()).ToArray();
            Tensor root;
            var recording = arena?.Record();
            try
            {
                for (int k = 0; k < generators.Length; k++) generators[k].SetState(_rngStates[k]);
                using (GradMode.Enable())
                {
                    var outputs = CheckOutputs(forward(detached), OutputGrads.Length);
                    // One scalar root over every output, so a single backward pass sees all their gradients at once.
                    root = GradMode.Record(Tensor.Scalar(0f), "checkpoint_join", _ =>
                    {
                        for (int j = 0; j < outputs.Length; j++)
                            if (OutputGrads[j].Grad is { } g && outputs[j].RequiresGrad)
                                outputs[j].AccumulateGrad(g, handOver: true);
                    }, outputs);
                }
            }
            catch
            {
                recording?.Dispose(); // the recompute's arrays return at once
                throw;
            }
            finally
            {
                for (int k = generators.Length - 1; k >= 0; k--) generators[k].SetState(current[k]);
            }
            recording?.Attach(root); // the recompute's activations go back to the arena once its backward pass ends

            if (root.RequiresGrad)
                root.Backward();
            foreach (var holder in OutputGrads) holder.Grad = null;
        }
    }

    private static Tensor[] CheckOutputs(Tensor[]? outputs, int? expected)
    {
        if (outputs is null || outputs.Any(o => o is null))
            throw new InvalidOperationException("A checkpointed block returned null instead of its outputs.");
        if (expected is { } count && outputs.Length != count)
            throw new InvalidOperationException($"A checkpointed block returned {outputs.Length} outputs on the recompute, {count} the first time.");
        return outputs;
    }
}
