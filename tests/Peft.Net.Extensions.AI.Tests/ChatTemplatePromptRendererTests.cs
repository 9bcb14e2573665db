using Microsoft.Extensions.AI;
using Peft.Net.Models.ChatTemplates;

namespace Peft.Net.Extensions.AI.Tests;

/// <summary>The chat client's prompt comes from the model's own chat template (issue 16's renderer) when the folder has one.</summary>
public sealed class ChatTemplatePromptRendererTests
{
    private static string Fixture(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Peft.Net.sln")))
                return Path.Combine(dir.FullName, "tests", "fixtures", "chat_templates", name);
        throw new DirectoryNotFoundException("The repository root (Peft.Net.sln) was not found above the test binaries.");
    }

    [Fact]
    public void A_folder_with_a_template_renders_through_it_with_the_generation_prompt()
    {
        string dir = Fixture("qwen2_5");
        var render = ChatTemplatePromptRenderer.FromDirectory(dir);
        var messages = new List<Microsoft.Extensions.AI.ChatMessage> { new(ChatRole.System, "Be brief."), new(ChatRole.User, "Capital of France?") };
        string prompt = render(messages, null);
        var expected = ChatTemplate.FromDirectory(dir)!.Render(
            [new("system", "Be brief."), new("user", "Capital of France?")], new ChatTemplateOptions { AddGenerationPrompt = true });
        Assert.Equal(expected, prompt);
        Assert.Contains("<|im_start|>user\nCapital of France?<|im_end|>", prompt);
        Assert.EndsWith("<|im_start|>assistant\n", prompt);
    }

    [Fact]
    public void A_folder_without_a_template_falls_back_to_ChatML()
    {
        string dir = Directory.CreateTempSubdirectory("peft-no-template-").FullName;
        try
        {
            var render = ChatTemplatePromptRenderer.FromDirectory(dir);
            var messages = new List<Microsoft.Extensions.AI.ChatMessage> { new(ChatRole.User, "Hi") };
            Assert.Equal(ChatMlPromptRenderer.Render(messages, null), render(messages, null));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
