using System.Runtime.CompilerServices;
using Peft.Net.Core.Nn;
using Peft.Net.Lora;

namespace Peft.Net;

public static partial class PeftModelExtensions
{
    private static readonly ConditionalWeakTable<Module, string> BaseModelNames = new();

    /// <summary>
    /// Records the name or folder the model was loaded from (transformers' <c>name_or_path</c>), which
    /// <see cref="SaveAdapter"/> writes as <c>base_model_name_or_path</c> when the adapter's config has none, as PEFT
    /// does (its <c>AutoPeftModel*</c> classes load the base from it). Model loaders such as
    /// <c>LlamaForCausalLM.FromPretrained</c> call it; call it yourself for a model you built another way.
    /// Null forgets the name. Returns <paramref name="model"/>.
    /// </summary>
    public static T SetBaseModelNameOrPath<T>(this T model, string? nameOrPath) where T : Module
    {
        ArgumentNullException.ThrowIfNull(model);
        if (nameOrPath is null) BaseModelNames.Remove(model);
        else BaseModelNames.AddOrUpdate(model, nameOrPath);
        return model;
    }

    /// <summary>The name or folder recorded by <see cref="SetBaseModelNameOrPath"/>, or null.</summary>
    public static string? BaseModelNameOrPath(this Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return BaseModelNames.TryGetValue(model, out var name) ? name : null;
    }
}
