using Peft.Net.Core.Optim;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Optim;

public class LrScheduleTests
{
    public static TheoryData<string> Cases => new()
    {
        "constant", "constant_with_warmup_5", "constant_with_warmup_0", "linear_with_warmup_5_20", "linear_with_warmup_0_7",
        "cosine_with_warmup_5_20", "cosine_with_warmup_3_17_cycles_2",
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Factors_match_hugging_face_formulas(string name)
    {
        // tests/fixtures/make_optim.py evaluates transformers' schedule lambdas; the values are exact doubles.
        var fixture = Fixture.Load("optim", "schedules");
        var schedule = name switch
        {
            "constant" => LrSchedule.Constant(),
            "constant_with_warmup_5" => LrSchedule.ConstantWithWarmup(5),
            "constant_with_warmup_0" => LrSchedule.ConstantWithWarmup(0),
            "linear_with_warmup_5_20" => LrSchedule.LinearWithWarmup(5, 20),
            "linear_with_warmup_0_7" => LrSchedule.LinearWithWarmup(0, 7),
            "cosine_with_warmup_5_20" => LrSchedule.CosineWithWarmup(5, 20),
            "cosine_with_warmup_3_17_cycles_2" => LrSchedule.CosineWithWarmup(3, 17, cycles: 2),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        var steps = fixture.Meta.GetProperty("steps").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var expected = fixture.Meta.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (int i = 0; i < steps.Length; i++)
            Assert.True(Math.Abs(expected[i] - schedule.Factor(steps[i])) <= 1e-15,
                $"{name} at step {steps[i]}: {schedule.Factor(steps[i]):R}, expected {expected[i]:R}");
    }

    [Fact]
    public void Factors_have_the_documented_shape()
    {
        var linear = LrSchedule.LinearWithWarmup(4, 12);
        Assert.Equal([0, 0.25, 0.5, 0.75, 1, 0.875], Enumerable.Range(0, 6).Select(linear.Factor));
        Assert.Equal(0, linear.Factor(12));
        Assert.Equal(0, linear.Factor(100));
        var cosine = LrSchedule.CosineWithWarmup(2, 10);
        Assert.Equal(1, cosine.Factor(2));
        Assert.Equal(0.5, cosine.Factor(6), 12);
        Assert.Equal(0, cosine.Factor(10), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => linear.Factor(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => LrSchedule.LinearWithWarmup(-1, 3));
    }

    [Fact]
    public void Scheduler_scales_each_groups_base_rate_like_LambdaLR()
    {
        var a = Trainable();
        var b = Trainable();
        var optimizer = new AdamW([new AdamWGroup([a], learningRate: 0.1), new AdamWGroup([b], learningRate: 0.4)]);
        var scheduler = new LrScheduler(optimizer, LrSchedule.LinearWithWarmup(2, 6));
        Assert.Equal([0.0, 0.0], scheduler.LearningRates); // LambdaLR applies step 0 on construction
        scheduler.Step();
        Assert.Equal([0.1 * 0.5, 0.4 * 0.5], scheduler.LearningRates);
        scheduler.Step();
        scheduler.Step();
        Assert.Equal(3, scheduler.CurrentStep);
        Assert.Equal([0.1 * 0.75, 0.4 * 0.75], optimizer.ParamGroups.Select(g => g.LearningRate));
        Assert.Equal([0.1, 0.4], scheduler.BaseLearningRates);
    }

    [Fact]
    public void Resuming_a_schedule_needs_the_saved_initial_learning_rates()
    {
        var optimizer = new AdamW([Trainable()], learningRate: 0.2);
        var error = Assert.Throws<InvalidOperationException>(() => new LrScheduler(optimizer, LrSchedule.Constant(), currentStep: 5));
        Assert.Contains("initial learning rate", error.Message);

        var first = new LrScheduler(optimizer, LrSchedule.LinearWithWarmup(0, 10));
        for (int i = 0; i < 5; i++) first.Step();
        var saved = optimizer.StateDict();
        var resumedOptimizer = new AdamW([Trainable()], learningRate: 123);
        resumedOptimizer.LoadStateDict(saved);
        var resumed = new LrScheduler(resumedOptimizer, LrSchedule.LinearWithWarmup(0, 10), currentStep: 5);
        Assert.Equal(first.LearningRates, resumed.LearningRates);
        first.Step();
        resumed.Step();
        Assert.Equal(first.LearningRates, resumed.LearningRates);
        Assert.Equal([0.2], resumed.BaseLearningRates);
    }

    private static Tensor Trainable()
    {
        var t = Tensor.Ones(2);
        t.RequiresGrad = true;
        return t;
    }
}
