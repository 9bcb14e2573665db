namespace Peft.Net.Lora;

/// <summary>
/// A model that knows its PEFT task type (<c>task_type</c> in adapter_config.json): "CAUSAL_LM" for a causal language
/// model, "SEQ_CLS" for a sequence classifier, …. <see cref="PeftModelExtensions.ApplyLora(Core.Nn.Module, LoraConfig, string, ulong)"/>
/// fills a config's missing <see cref="LoraConfig.TaskType"/> from it; any other model gets null, as PEFT writes for a
/// custom model, so that PEFT does not load the adapter into a causal-LM wrapper it does not fit.
/// </summary>
public interface IPeftTaskModel
{
    /// <summary>The PEFT <c>TaskType</c> name, e.g. "CAUSAL_LM".</summary>
    string PeftTaskType { get; }
}
