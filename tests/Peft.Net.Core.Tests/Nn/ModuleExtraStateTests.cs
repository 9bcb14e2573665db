using Peft.Net.Core.Nn;

namespace Peft.Net.Core.Tests.Nn;

/// <summary>A module whose state is a variable-length table under dotted keys (<c>table</c>, <c>table.scale</c>), like a 4-bit weight.</summary>
internal sealed class TableModule : Module
{
    public TableModule(float[] values, float scale)
    {
        Values = values;
        Scale = scale;
        RegisterParameter("bias", Tensor.Zeros(2));
    }

    public float[] Values { get; private set; }

    public float Scale { get; private set; }

    protected override IEnumerable<KeyValuePair<string, Tensor>> ExtraStateTensors() =>
        [new("table", Tensor.FromArray(Values)), new("table.scale", Tensor.Scalar(Scale))];

    protected override bool IsExtraStateKey(string key) => key == "table" || key.StartsWith("table.", StringComparison.Ordinal);

    protected override Action PrepareExtraState(IReadOnlyDictionary<string, Tensor> state)
    {
        if (!state.TryGetValue("table", out var table) || !state.TryGetValue("table.scale", out var scale))
            throw new ArgumentException($"'table' and 'table.scale' are both needed; got [{string.Join(", ", state.Keys)}].");
        float[] values = table.ToArray();
        float s = scale.Item();
        return () => (Values, Scale) = (values, s);
    }
}

public class ModuleExtraStateTests
{
    private static TestSequence Model(float[] values, float scale) =>
        new([new TestSequence([new TableModule(values, scale)]), new Linear(2, 2)]);

    [Fact]
    public void Extra_state_is_part_of_the_state_dict_and_loads_through_the_owning_module()
    {
        var source = Model([1, 2, 3], 0.5f);
        Assert.Equal(["0.0.bias", "0.0.table", "0.0.table.scale", "1.weight", "1.bias"], source.StateDict().Keys);

        var target = Model([9], 2f); // another length: extra state is rebuilt, not copied in place
        var result = target.LoadStateDict(source.StateDict());
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        var table = (TableModule)target.GetSubmodule("0.0");
        Assert.Equal([1f, 2f, 3f], table.Values);
        Assert.Equal(0.5f, table.Scale);
    }

    [Fact]
    public void Missing_extra_state_is_reported_and_a_rejected_one_changes_nothing()
    {
        var target = Model([9], 2f);
        var state = Model([1, 2, 3], 0.5f).StateDict().Where(p => !p.Key.StartsWith("0.0.table", StringComparison.Ordinal)).ToDictionary();
        Assert.Contains("missing keys [0.0.table, 0.0.table.scale]", Assert.Throws<ArgumentException>(() => target.LoadStateDict(state)).Message);
        Assert.Equal(["0.0.table", "0.0.table.scale"], target.LoadStateDict(state, strict: false).MissingKeys);

        var fresh = Model([9], 2f);
        float[] weightBefore = fresh.StateDict()["1.weight"].ToArray();
        var partial = Model([1, 2, 3], 0.5f).StateDict().Where(p => p.Key != "0.0.table.scale").ToDictionary();
        string error = Assert.Throws<ArgumentException>(() => fresh.LoadStateDict(partial)).Message;
        Assert.StartsWith("State dict entries of '0.0' (TableModule): 'table' and 'table.scale' are both needed", error);
        Assert.Equal(weightBefore, fresh.StateDict()["1.weight"].ToArray());
        Assert.Equal([9f], ((TableModule)fresh.GetSubmodule("0.0")).Values);
    }
}
