using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Nn;

public class ModuleTests
{
    private static readonly string[] ParameterNames =
    [
        "embedding",
        "layers.0.first.weight", "layers.0.first.bias", "layers.0.second.weight",
        "layers.1.first.weight", "layers.1.first.bias", "layers.1.second.weight",
    ];

    [Fact]
    public void Named_modules_and_parameters_use_dotted_paths_in_declaration_order()
    {
        var model = new TestModel();
        Assert.Equal(
            ["", "layers", "layers.0", "layers.0.first", "layers.0.second", "layers.1", "layers.1.first", "layers.1.second", "head"],
            model.NamedModules().Select(e => e.Name));
        // A module's own parameters come before its children's, as in PyTorch; the absent bias of "second" is not listed.
        Assert.Equal(ParameterNames, model.NamedParameters().Select(e => e.Name));
        Assert.Equal(["layers", "head"], model.NamedChildren().Select(e => e.Name));
        Assert.Equal(
            ["layers.0.running_mean", "layers.0.scratch", "layers.1.running_mean", "layers.1.scratch"],
            model.NamedBuffers().Select(e => e.Name));
    }

    [Fact]
    public void Tied_parameters_are_listed_and_counted_once_but_appear_under_both_names_in_the_state_dict()
    {
        var model = new TestModel();
        Assert.DoesNotContain("head.weight", model.NamedParameters().Select(e => e.Name));
        Assert.Same(model.Embedding, ((TiedHead)model.GetSubmodule("head")).NamedParameters().Single().Parameter);
        long expected = TestModel.Vocab * TestModel.Width + 2 * (4 * 4 + 4 + 4 * 4);
        Assert.Equal(expected, model.ParameterCount());
        var state = model.StateDict();
        Assert.Same(state["embedding"], state["head.weight"]);
    }

    [Fact]
    public void State_dict_holds_parameters_and_persistent_buffers_only()
    {
        var state = new TestModel().StateDict();
        // Module by module (depth first), each module's parameters then its persistent buffers.
        Assert.Equal(
        [
            "embedding",
            "layers.0.running_mean", "layers.0.first.weight", "layers.0.first.bias", "layers.0.second.weight",
            "layers.1.running_mean", "layers.1.first.weight", "layers.1.first.bias", "layers.1.second.weight",
            "head.weight",
        ], state.Keys);
        Assert.DoesNotContain("layers.0.scratch", state.Keys);
    }

    [Fact]
    public void Load_state_dict_copies_values_into_the_existing_tensors()
    {
        var source = new TestModel(seed: 7);
        var target = new TestModel(seed: 8);
        var weight = target.NamedParameters().Single(e => e.Name == "layers.1.first.weight").Parameter;
        var result = target.LoadStateDict(source.StateDict());
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        Assert.Same(weight, target.NamedParameters().Single(e => e.Name == "layers.1.first.weight").Parameter);
        foreach (var ((name, expected), (_, actual)) in source.NamedParameters().Zip(target.NamedParameters()))
            TensorAssert.BitEqual(expected.AsSpan(), actual.AsSpan(), name);
        var x = Tensor.Normal([3, TestModel.Width], 0, 1, new TensorRandom(1));
        TensorAssert.BitEqual(source.Forward(x).AsSpan(), target.Forward(x).AsSpan(), "forward after load");
    }

    [Fact]
    public void Strict_load_lists_missing_and_unexpected_keys_and_changes_nothing()
    {
        var target = new TestModel(seed: 8);
        var before = target.Embedding.ToArray();
        var state = new Dictionary<string, Tensor>(new TestModel(seed: 7).StateDict());
        state.Remove("layers.0.first.bias");
        state.Remove("layers.1.running_mean");
        state["layers.2.first.weight"] = Tensor.Zeros(4, 4);
        var error = Assert.Throws<ArgumentException>(() => target.LoadStateDict(state));
        Assert.Contains("missing keys [layers.0.first.bias, layers.1.running_mean]", error.Message);
        Assert.Contains("unexpected keys [layers.2.first.weight]", error.Message);
        TensorAssert.BitEqual(before, target.Embedding.AsSpan(), "embedding after a rejected load");
    }

    [Fact]
    public void Non_strict_load_reports_missing_and_unexpected_keys_and_loads_the_rest()
    {
        var source = new TestModel(seed: 7);
        var target = new TestModel(seed: 8);
        var keep = target.NamedParameters().Single(e => e.Name == "layers.0.first.bias").Parameter.ToArray();
        var state = new Dictionary<string, Tensor>(source.StateDict());
        state.Remove("layers.0.first.bias");
        state["extra"] = Tensor.Zeros(1);
        var result = target.LoadStateDict(state, strict: false);
        Assert.Equal(["layers.0.first.bias"], result.MissingKeys);
        Assert.Equal(["extra"], result.UnexpectedKeys);
        TensorAssert.BitEqual(keep, target.NamedParameters().Single(e => e.Name == "layers.0.first.bias").Parameter.AsSpan(), "missing key kept");
        TensorAssert.BitEqual(source.Embedding.AsSpan(), target.Embedding.AsSpan(), "loaded key");
    }

    [Fact]
    public void Load_rejects_a_shape_mismatch_naming_the_key_and_changes_nothing()
    {
        var target = new TestModel(seed: 8);
        var before = target.Embedding.ToArray();
        var state = new Dictionary<string, Tensor>(new TestModel(seed: 7).StateDict()) { ["layers.1.first.bias"] = Tensor.Zeros(5) };
        var error = Assert.Throws<ArgumentException>(() => target.LoadStateDict(state, strict: false));
        Assert.Contains("'layers.1.first.bias'", error.Message);
        Assert.Contains("[5]", error.Message);
        // entries before the bad one were not copied either
        TensorAssert.BitEqual(before, target.Embedding.AsSpan(), "embedding after a rejected load");
    }

    [Fact]
    public void Load_converts_between_float_dtypes()
    {
        var target = new TestModel();
        var bf16 = Tensor.Zeros(4, 4).To(DType.BF16);
        target.ReplaceParameter("layers.0.second.weight", bf16);
        var source = new TestModel(seed: 3);
        target.LoadStateDict(source.StateDict());
        var expected = source.StateDict()["layers.0.second.weight"].AsSpan().ToArray();
        var stored = bf16.AsSpan<BFloat16>();
        for (int i = 0; i < expected.Length; i++)
            Assert.Equal(BFloat16.FromSingle(expected[i]).Bits, stored[i].Bits);

        // and back: a BF16 state entry widens exactly into an F32 parameter
        var f32Target = new TestModel(seed: 4);
        var state = new Dictionary<string, Tensor>(f32Target.StateDict()) { ["layers.0.second.weight"] = bf16 };
        f32Target.LoadStateDict(state);
        TensorAssert.BitEqual(bf16.ToArray(), f32Target.StateDict()["layers.0.second.weight"].AsSpan(), "BF16 → F32");

        var ints = new Dictionary<string, Tensor>(f32Target.StateDict()) { ["layers.0.running_mean"] = Tensor.Empty(DType.I32, 4) };
        Assert.Contains("cannot convert I32", Assert.Throws<ArgumentException>(() => f32Target.LoadStateDict(ints)).Message);
    }

    [Fact]
    public void Get_submodule_follows_dotted_paths_and_names_the_missing_segment()
    {
        var model = new TestModel();
        Assert.Same(model, model.GetSubmodule(""));
        Assert.IsType<Linear>(model.GetSubmodule("layers.1.first"));
        var error = Assert.Throws<KeyNotFoundException>(() => model.GetSubmodule("layers.7.first"));
        Assert.Contains("'7'", error.Message);
        Assert.Contains("[0, 1]", error.Message);
        Assert.Throws<KeyNotFoundException>(() => model.GetSubmodule("layers.0.first.weight"));
        Assert.Throws<KeyNotFoundException>(() => model.ChildAs<Module>("nope"));
        Assert.Throws<InvalidCastException>(() => model.ChildAs<Linear>("layers"));
    }

    [Fact]
    public void Replace_submodule_takes_effect_in_forward_and_returns_the_old_module()
    {
        var model = new TestModel();
        var x = Tensor.Normal([2, TestModel.Width], 0, 1, new TensorRandom(2));
        var before = model.Forward(x).ToArray();
        var old = model.ReplaceSubmodule("layers.1", new Scale(1f));
        Assert.IsType<TestBlock>(old);
        var withoutSecondBlock = model.Forward(x).ToArray();
        var expected = model.GetSubmodule("head").Forward(model.GetSubmodule("layers.0").Forward(x)).ToArray();
        TensorAssert.BitEqual(expected, withoutSecondBlock, "forward after replacing layers.1");
        Assert.NotEqual(before, withoutSecondBlock);
        Assert.DoesNotContain(model.NamedParameters(), e => e.Name.StartsWith("layers.1.", StringComparison.Ordinal));
        Assert.Throws<KeyNotFoundException>(() => model.ReplaceSubmodule("layers.9", new Scale(1f)));
        Assert.Throws<ArgumentException>(() => model.ReplaceSubmodule("", new Scale(1f)));
    }

    [Fact]
    public void Replace_submodule_gives_the_replacement_the_modules_mode()
    {
        var model = new TestModel();
        model.Eval();
        var replacement = new Scale(2f);
        Assert.True(replacement.IsTraining);
        model.ReplaceSubmodule("layers.0.first", replacement);
        Assert.False(replacement.IsTraining);
    }

    [Fact]
    public void Replace_parameter_takes_effect_in_forward_and_checks_the_shape()
    {
        var model = new TestModel();
        var x = Tensor.Normal([2, TestModel.Width], 0, 1, new TensorRandom(3));
        var zeros = Tensor.Zeros(TestModel.Vocab, TestModel.Width);
        var old = model.ReplaceParameter("head.weight", zeros);
        Assert.Same(model.Embedding, old);
        Assert.All(model.Forward(x).ToArray(), v => Assert.Equal(0f, v));
        Assert.Contains("does not match", Assert.Throws<ArgumentException>(() => model.ReplaceParameter("head.weight", Tensor.Zeros(3, 3))).Message);
        Assert.Throws<KeyNotFoundException>(() => model.ReplaceParameter("head.bias", zeros));
        // A frozen BF16 weight is accepted and used by the forward pass.
        var bf16 = Tensor.Ones(TestModel.Vocab, TestModel.Width).To(DType.BF16);
        model.ReplaceParameter("head.weight", bf16);
        Assert.Equal(DType.BF16, model.StateDict()["head.weight"].DType);
        Assert.NotEqual(0f, model.Forward(x).ToArray()[0]);
        // an absent bias can be filled in
        model.ReplaceParameter("layers.0.second.bias", Tensor.Ones(TestModel.Width));
        Assert.Contains("layers.0.second.bias", model.NamedParameters().Select(e => e.Name));
    }

    [Fact]
    public void Train_and_eval_reach_every_descendant()
    {
        var model = new TestModel();
        Assert.All(model.NamedModules(), e => Assert.True(e.Module.IsTraining));
        Assert.Same(model, model.Eval());
        Assert.All(model.NamedModules(), e => Assert.False(e.Module.IsTraining, e.Name));
        model.GetSubmodule("layers.1").Train();
        Assert.True(model.GetSubmodule("layers.1.second").IsTraining);
        Assert.False(model.GetSubmodule("layers.0.second").IsTraining);
        model.Train();
        Assert.All(model.NamedModules(), e => Assert.True(e.Module.IsTraining, e.Name));
    }

    [Fact]
    public void Requires_grad_freezes_and_unfreezes_parameters()
    {
        var model = new TestModel();
        long total = model.ParameterCount();
        Assert.All(model.Parameters(), p => Assert.True(p.RequiresGrad));
        Assert.Equal(total, model.ParameterCount(trainableOnly: true));
        model.RequiresGrad(false);
        Assert.Empty(model.TrainableParameters());
        Assert.Equal(0, model.ParameterCount(trainableOnly: true));
        model.GetSubmodule("layers.0.first").RequiresGrad(true);
        Assert.Equal(4 * 4 + 4, model.ParameterCount(trainableOnly: true));
        Assert.Equal(total, model.ParameterCount());
        model.ReplaceParameter("layers.1.second.weight", Tensor.Zeros(4, 4).To(DType.BF16));
        model.RequiresGrad(true); // skips the BF16 parameter instead of failing
        Assert.Equal(total - 16, model.ParameterCount(trainableOnly: true));
    }

    [Fact]
    public void Zero_grad_clears_every_gradient()
    {
        var model = new TestModel();
        var x = Tensor.Normal([2, TestModel.Width], 0, 1, new TensorRandom(4));
        var y = model.Forward(x);
        var loss = Ops.MatMul(y.Reshape(1, -1), Tensor.Ones(y.Count, 1));
        loss.Backward();
        Assert.All(model.Parameters(), p => Assert.NotNull(p.Grad));
        model.ZeroGrad();
        Assert.All(model.Parameters(), p => Assert.Null(p.Grad));
    }

    [Fact]
    public void Registration_rejects_bad_and_duplicate_names_and_default_forward_is_unsupported()
    {
        var model = new TestModel();
        Assert.Contains("already has a member named 'embedding'", Assert.Throws<ArgumentException>(() => model.Register("embedding")).Message);
        Assert.Throws<ArgumentException>(() => model.Register("layers"));
        Assert.Throws<ArgumentException>(() => model.Register("a.b"));
        Assert.Throws<ArgumentException>(() => model.Register(""));
        Assert.Throws<NotSupportedException>(() => new Empty().Forward(Tensor.Zeros(1)));
    }
}
