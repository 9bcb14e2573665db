using Peft.Net.Core.Optim;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Optim;

public class OptimizerStateTests
{
    private const int Before = 4;
    private const int After = 5;

    private static readonly (string, int[])[] Shapes = [("w", [6, 11]), ("b", [11]), ("s", [3])];

    private static AdamW MakeAdamW(QuadraticProblem p) => new([
        new AdamWGroup([p["w"], p["b"]], learningRate: 2e-2, weightDecay: 0.1, name: "decay"),
        new AdamWGroup([p["s"]], learningRate: 5e-2, weightDecay: 0, beta1: 0.8, name: "no_decay"),
    ]);

    private static Sgd MakeSgd(QuadraticProblem p) => new([
        new SgdGroup([p["w"], p["b"]], learningRate: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01),
        new SgdGroup([p["s"]], learningRate: 0.1, momentum: 0.7, nesterov: true),
    ]);

    private static void Train(QuadraticProblem problem, Optimizer optimizer, LrScheduler scheduler, int from, int to)
    {
        for (int k = from; k < to; k++)
        {
            problem.SetGradients(k % 3 == 0 ? ["s"] : []); // "s" skips some steps, so step counts differ per parameter
            GradientClipping.ClipByGlobalNorm(problem.Parameters.Values, 5.0);
            optimizer.Step();
            scheduler.Step();
        }
    }

    [Fact]
    public void AdamW_resumed_from_a_saved_state_matches_an_uninterrupted_run_bitwise() =>
        AssertResumeIsExact(MakeAdamW);

    [Fact]
    public void Sgd_resumed_from_a_saved_state_matches_an_uninterrupted_run_bitwise() =>
        AssertResumeIsExact(MakeSgd);

    private static void AssertResumeIsExact(Func<QuadraticProblem, Optimizer> make)
    {
        var schedule = LrSchedule.CosineWithWarmup(2, Before + After);

        var straight = QuadraticProblem.Random(42, Shapes);
        var straightOptimizer = make(straight);
        Train(straight, straightOptimizer, new LrScheduler(straightOptimizer, schedule), 0, Before + After);

        var first = QuadraticProblem.Random(42, Shapes);
        var firstOptimizer = make(first);
        Train(first, firstOptimizer, new LrScheduler(firstOptimizer, schedule), 0, Before);
        var saved = new MemoryStream();
        firstOptimizer.StateDict().WriteTo(saved);
        var weights = first.Snapshot();

        // A fresh process: same model layout, weights restored, optimizer state read back from bytes.
        var second = QuadraticProblem.Random(42, Shapes);
        foreach (var (name, values) in weights) values.CopyTo(second[name].AsSpan());
        var secondOptimizer = make(second);
        secondOptimizer.LoadStateDict(OptimizerState.ReadFrom(new MemoryStream(saved.ToArray())));
        Train(second, secondOptimizer, new LrScheduler(secondOptimizer, schedule, currentStep: Before), Before, Before + After);

        foreach (var name in straight.Names)
            TensorAssert.BitEqual(straight[name].AsSpan(), second[name].AsSpan(), name);
        Assert.Equal(straightOptimizer.ParamGroups.Select(g => g.LearningRate), secondOptimizer.ParamGroups.Select(g => g.LearningRate));
    }

    [Fact]
    public void State_round_trips_through_a_stream_and_is_a_deep_copy()
    {
        var problem = QuadraticProblem.Random(1, Shapes);
        var optimizer = MakeAdamW(problem);
        problem.SetGradients("s");
        optimizer.Step();
        var state = optimizer.StateDict();
        var expAvg = (float[])state.Groups[0].Parameters[0]!.Buffers[0].Clone();
        problem.SetGradients();
        optimizer.Step();
        Assert.Equal(expAvg, state.Groups[0].Parameters[0]!.Buffers[0]); // later steps do not leak into a snapshot

        var stream = new MemoryStream();
        state.WriteTo(stream);
        stream.Position = 0;
        var read = OptimizerState.ReadFrom(stream);
        Assert.Equal("AdamW", read.OptimizerType);
        Assert.Equal(["exp_avg", "exp_avg_sq"], read.BufferNames);
        Assert.Equal(["decay", "no_decay"], read.Groups.Select(g => g.Name));
        Assert.Equal(0.8, read.Groups[1].Hyperparameters["beta1"]);
        Assert.Equal(2e-2, read.Groups[0].Hyperparameters["lr"]);
        Assert.Null(read.Groups[1].Parameters[0]);
        for (int b = 0; b < 2; b++)
            TensorAssert.BitEqual(state.Groups[0].Parameters[1]!.Buffers[b], read.Groups[0].Parameters[1]!.Buffers[b], $"buffer {b}");
        Assert.Equal(1, read.Groups[0].Parameters[1]!.Step);
    }

    [Fact]
    public void Loading_restores_hyper_parameters()
    {
        var problem = QuadraticProblem.Random(2, Shapes);
        var source = MakeAdamW(problem);
        source.Groups[1].Beta2 = 0.95;
        source.Groups[0].LearningRate = 7e-3;
        var target = MakeAdamW(QuadraticProblem.Random(2, Shapes));
        target.LoadStateDict(source.StateDict());
        Assert.Equal(0.95, target.Groups[1].Beta2);
        Assert.Equal(7e-3, target.Groups[0].LearningRate);
    }

    [Fact]
    public void Incompatible_states_are_rejected_and_leave_the_optimizer_unchanged()
    {
        var problem = QuadraticProblem.Random(3, Shapes);
        var adam = MakeAdamW(problem);
        problem.SetGradients();
        adam.Step();
        var good = adam.StateDict();

        Assert.Contains("SGD", Assert.Throws<ArgumentException>(() => adam.LoadStateDict(MakeSgd(problem).StateDict())).Message);

        var oneGroup = new AdamW([problem["w"]]);
        Assert.Contains("2 parameter groups", Assert.Throws<ArgumentException>(() => oneGroup.LoadStateDict(good)).Message);

        var fewer = new AdamW([new AdamWGroup([problem["w"]]), new AdamWGroup([problem["s"]])]);
        Assert.Contains("has 2 parameters", Assert.Throws<ArgumentException>(() => fewer.LoadStateDict(good)).Message);

        var other = QuadraticProblem.Random(3, [("w", [6, 11]), ("b", [12]), ("s", [3])]);
        var resized = MakeAdamW(other);
        resized.Groups[0].LearningRate = 0.5;
        var error = Assert.Throws<ArgumentException>(() => resized.LoadStateDict(good));
        Assert.Contains("'exp_avg' of parameter 1 in group 'decay' has 11 elements", error.Message);
        Assert.Equal(0.5, resized.Groups[0].LearningRate);
        Assert.All(resized.StateDict().Groups.SelectMany(g => g.Parameters), Assert.Null);
    }

    [Fact]
    public void Reading_a_corrupt_stream_fails_clearly()
    {
        Assert.Contains("PNOPTIM", Assert.Throws<InvalidDataException>(() => OptimizerState.ReadFrom(new MemoryStream(new byte[32]))).Message);
        var problem = QuadraticProblem.Random(4, Shapes);
        var sgd = MakeSgd(problem);
        problem.SetGradients();
        sgd.Step();
        var bytes = new MemoryStream();
        sgd.StateDict().WriteTo(bytes);
        var truncated = bytes.ToArray()[..^7];
        Assert.Throws<InvalidDataException>(() => OptimizerState.ReadFrom(new MemoryStream(truncated)));
    }
}
