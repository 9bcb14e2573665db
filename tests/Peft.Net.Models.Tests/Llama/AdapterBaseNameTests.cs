using Peft.Net.Adapters;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Models.Tests.Llama;

public class AdapterBaseNameTests
{
    [Fact]
    public void AnAdapterOfAModelLoadedFromAFolderNamesThatFolder()
    {
        using var folder = new TempFolder();
        string modelDir = Directory.CreateDirectory(folder.File("SmolLM-like")).FullName;
        new LlamaForCausalLM(LlamaFixtures.TinyConfig(false, "llama"), new Core.TensorRandom(3)).SavePretrained(modelDir);

        var model = LlamaForCausalLM.FromPretrained(modelDir);
        Assert.Equal(modelDir, model.BaseModelNameOrPath());
        model.ApplyLora(rank: 2, targetModules: ["q_proj", "v_proj"]);
        string adapterDir = Directory.CreateDirectory(folder.File("adapter")).FullName;
        model.SaveAdapter(adapterDir);

        Assert.Equal(modelDir, LoraConfig.Load(Path.Combine(adapterDir, AdapterFiles.ConfigFile)).BaseModelNameOrPath);
        Assert.DoesNotContain("lora_bias", File.ReadAllText(Path.Combine(adapterDir, AdapterFiles.ConfigFile)));
    }
}
