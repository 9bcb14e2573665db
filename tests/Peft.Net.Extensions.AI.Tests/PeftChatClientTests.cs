using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Peft.Net.Extensions.AI;

namespace Peft.Net.Extensions.AI.Tests;

public sealed class PeftChatClientTests
{
    private static PeftChatClient Client(PeftChatClientOptions? options = null) => new(TinyChatModel.NewModel(), TinyChatModel.Tokenizer, options);

    [Fact]
    public async Task The_fine_tuned_model_answers_through_IChatClient()
    {
        using IChatClient client = Client();
        var response = await client.GetResponseAsync(TinyChatModel.Conversation());
        Assert.Equal(TinyChatModel.BaseAnswer, response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(ChatRole.Assistant, response.Messages.Single().Role);
    }

    [Fact]
    public async Task The_adapter_changes_the_answer()
    {
        using IChatClient client = Client(new PeftChatClientOptions { AdapterDirectory = TinyChatModel.AdapterFolder });
        Assert.Equal(TinyChatModel.AdapterAnswer, (await client.GetResponseAsync(TinyChatModel.Conversation())).Text);
    }

    [Fact]
    public async Task Streaming_and_non_streaming_give_the_same_text_and_usage()
    {
        using IChatClient client = Client();
        var options = new ChatOptions { Temperature = 0.9f, TopK = 20, TopP = 0.95f, Seed = 3, MaxOutputTokens = 12 };
        var whole = await client.GetResponseAsync(TinyChatModel.Conversation(), options);
        var pieces = new List<string>();
        UsageDetails? usage = null;
        await foreach (var update in client.GetStreamingResponseAsync(TinyChatModel.Conversation(), options))
        {
            if (update.Text.Length > 0) pieces.Add(update.Text);
            usage ??= update.Contents.OfType<UsageContent>().SingleOrDefault()?.Details;
        }
        Assert.Equal(whole.Text, string.Concat(pieces));
        Assert.True(pieces.Count > 1, "streaming yields the reply in several pieces");
        int promptTokens = TinyChatModel.Tokenizer.Encode(ChatMlPromptRenderer.Render(TinyChatModel.Conversation().ToList(), null)).Length;
        Assert.Equal(promptTokens, whole.Usage!.InputTokenCount);
        Assert.Equal(whole.Usage.InputTokenCount, usage!.InputTokenCount);
        Assert.Equal(whole.Usage.OutputTokenCount, usage.OutputTokenCount);
        Assert.InRange(whole.Usage.OutputTokenCount!.Value, 1, 12);
    }

    [Fact]
    public async Task Stop_sequences_end_the_reply_before_them()
    {
        using IChatClient client = Client();
        var response = await client.GetResponseAsync(TinyChatModel.Conversation(), new ChatOptions { StopSequences = ["ri"] });
        Assert.Equal("Pa", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        var streamed = new List<string>();
        await foreach (var update in client.GetStreamingResponseAsync(TinyChatModel.Conversation(), new ChatOptions { StopSequences = ["is!"] }))
            streamed.Add(update.Text);
        Assert.Equal("Par", string.Concat(streamed));
    }

    [Fact]
    public async Task Max_output_tokens_limits_the_reply()
    {
        using IChatClient client = Client();
        var response = await client.GetResponseAsync(TinyChatModel.Conversation(), new ChatOptions { MaxOutputTokens = 3 });
        Assert.Equal("Par", response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(3, response.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task Sampling_with_a_seed_is_reproducible()
    {
        using IChatClient client = Client();
        var options = new ChatOptions { Temperature = 5f, Seed = 42, MaxOutputTokens = 20 };
        var first = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "something else entirely")], options);
        var second = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "something else entirely")], options);
        Assert.Equal(first.Text, second.Text);
        var third = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "something else entirely")], new ChatOptions { Temperature = 5f, Seed = 43, MaxOutputTokens = 20 });
        Assert.NotEqual(first.Text, third.Text);
    }

    [Fact]
    public async Task Cancellation_stops_generation()
    {
        using IChatClient client = Client(new PeftChatClientOptions { StopTokenIds = [], StopSequences = [] });
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync(TinyChatModel.Conversation(), cancellationToken: cancelled.Token));

        using var midway = new CancellationTokenSource();
        int updates = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync(TinyChatModel.Conversation(), new ChatOptions { MaxOutputTokens = 200 }, midway.Token))
            {
                updates++;
                await midway.CancelAsync();
            }
        });
        Assert.InRange(updates, 1, 50);
        // The client is free again afterwards.
        Assert.Equal(5, (await client.GetResponseAsync(TinyChatModel.Conversation(), new ChatOptions { MaxOutputTokens = 5 })).Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task Requests_are_logged_and_metadata_is_served()
    {
        var logger = new ListLogger();
        using IChatClient client = Client(new PeftChatClientOptions { Logger = logger, ModelId = "tiny" });
        await client.GetResponseAsync(TinyChatModel.Conversation());
        Assert.Contains(logger.Lines, l => l.Contains("tokens after", StringComparison.Ordinal) && l.Contains("stop", StringComparison.OrdinalIgnoreCase));
        Assert.Equal("tiny", client.GetService<ChatClientMetadata>()!.DefaultModelId);
        Assert.NotNull(client.GetService<Models.LlamaForCausalLM>());
    }

    [Fact]
    public void A_tokenizer_larger_than_the_vocabulary_is_refused()
    {
        var small = new Models.LlamaForCausalLM(new Models.LlamaConfig
        {
            HiddenSize = 16, IntermediateSize = 32, NumHiddenLayers = 1, NumAttentionHeads = 2, VocabSize = 100,
        });
        var error = Assert.Throws<ArgumentException>(() => new PeftChatClient(small, TinyChatModel.Tokenizer));
        Assert.Contains("259 ids", error.Message);
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines) Lines.Add(formatter(state, exception));
        }
    }
}
