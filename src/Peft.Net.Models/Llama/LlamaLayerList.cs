using Peft.Net.Core.Nn;

namespace Peft.Net.Models;

/// <summary>The decoder layers registered as "0", "1", … so their names read <c>model.layers.{i}.…</c>.</summary>
internal sealed class LlamaLayerList : Module
{
    public LlamaLayerList(IEnumerable<LlamaDecoderLayer> layers)
    {
        int i = 0;
        foreach (var layer in layers) RegisterModule((i++).ToString(System.Globalization.CultureInfo.InvariantCulture), layer);
        Count = i;
    }

    public int Count { get; }

    public LlamaDecoderLayer this[int index] => Child<LlamaDecoderLayer>(index.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
