using System.Text.Json;

namespace Peft.Net.Core.Tests.Testing;

/// <summary>
/// A golden fixture written by <c>tests/fixtures/fixture_io.py</c>: named float32 tensors plus metadata.
/// Fixtures are copied next to the test assembly under <c>fixtures/</c>.
/// </summary>
public sealed class Fixture
{
    private readonly Dictionary<string, (int[] Shape, float[] Data)> _tensors;

    private Fixture(Dictionary<string, (int[] Shape, float[] Data)> tensors, JsonElement meta)
    {
        _tensors = tensors;
        Meta = meta;
    }

    /// <summary>The "meta" object of the fixture (hyper-parameters used to make it).</summary>
    public JsonElement Meta { get; }

    /// <summary>Loads fixtures/&lt;family&gt;/&lt;name&gt;.json from the test output folder.</summary>
    public static Fixture Load(string family, string name)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "fixtures", family, name + ".json");
        if (!File.Exists(path))
            throw new FileNotFoundException($"Fixture {family}/{name}.json is missing; regenerate it with tests/fixtures/make_{family}.py.", path);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var tensors = new Dictionary<string, (int[], float[])>();
        foreach (var entry in doc.RootElement.GetProperty("tensors").EnumerateObject())
        {
            var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var data = entry.Value.GetProperty("data").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
            tensors[entry.Name] = (shape, data);
        }
        return new Fixture(tensors, doc.RootElement.GetProperty("meta").Clone());
    }

    /// <summary>The tensor <paramref name="name"/> as a new F32 tensor.</summary>
    public Tensor Tensor(string name)
    {
        if (!_tensors.TryGetValue(name, out var t))
            throw new KeyNotFoundException($"Fixture has no tensor '{name}' (has {string.Join(", ", _tensors.Keys)}).");
        return t.Shape.Length == 0 ? Core.Tensor.Scalar(t.Data[0]) : Core.Tensor.FromArray(t.Data, t.Shape);
    }

    /// <summary>The raw values of tensor <paramref name="name"/>.</summary>
    public float[] Data(string name) => _tensors[name].Data;
}
