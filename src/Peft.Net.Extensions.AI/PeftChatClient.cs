using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Peft.Net.Lora;
using Peft.Net.Models;
using Peft.Net.Models.Tokenization;

namespace Peft.Net.Extensions.AI;

/// <summary>
/// An <see cref="IChatClient"/> over a Peft.Net <see cref="LlamaForCausalLM"/> and its tokenizer (optionally with a
/// LoRA adapter): the messages are rendered by <see cref="PeftChatClientOptions.PromptRenderer"/>, the reply is
/// generated with a KV cache on the calling machine's CPU, and ends at an EOS id, a stop sequence or the token limit.
/// Streaming and non-streaming requests give the same text. Requests run one at a time (the model is not shared
/// between concurrent generations).
/// </summary>
/// <remarks>
/// <see cref="ChatOptions"/> used: <c>Temperature</c> (0 or unset: greedy), <c>TopP</c>, <c>TopK</c> (either one
/// alone samples at temperature 1), <c>MaxOutputTokens</c>, <c>StopSequences</c>, <c>Seed</c>, <c>ModelId</c>
/// (ignored). Tools and response formats are not supported and are ignored.
/// </remarks>
public sealed class PeftChatClient : IChatClient
{
    private readonly LlamaForCausalLM _model;
    private readonly ITokenizer _tokenizer;
    private readonly PeftChatClientOptions _options;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ChatClientMetadata _metadata;

    /// <summary>Creates a client; loads <see cref="PeftChatClientOptions.AdapterDirectory"/> onto the model when given.</summary>
    /// <param name="model">The model (put in evaluation mode while generating).</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="options">Prompt rendering, stops, limits, adapter and logger.</param>
    /// <exception cref="ArgumentException">The tokenizer has more ids than the model's vocabulary.</exception>
    public PeftChatClient(LlamaForCausalLM model, ITokenizer tokenizer, PeftChatClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        _options = options ?? new PeftChatClientOptions();
        if (tokenizer.VocabSize > model.Config.VocabSize)
            throw new ArgumentException($"The tokenizer has {tokenizer.VocabSize} ids but the model's vocabulary only {model.Config.VocabSize}.", nameof(tokenizer));
        if (_options.DefaultMaxOutputTokens <= 0)
            throw new ArgumentException($"DefaultMaxOutputTokens must be positive; got {_options.DefaultMaxOutputTokens}.", nameof(options));
        _model = model;
        _tokenizer = tokenizer;
        if (_options.AdapterDirectory is { } adapter)
        {
            _model.LoadAdapter(adapter);
            _options.Logger?.LogInformation("Loaded adapter {Adapter} for chat", adapter);
        }
        _metadata = new ChatClientMetadata("Peft.Net", defaultModelId: _options.ModelId);
    }

    /// <inheritdoc/>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
            updates.Add(update);
        return updates.ToChatResponse();
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages.ToList();
        string prompt = _options.PromptRenderer(list, options);
        int[] promptIds = _tokenizer.Encode(prompt, _options.AddSpecialTokens);
        if (promptIds.Length == 0) throw new ArgumentException("The rendered prompt encodes to no tokens.", nameof(messages));
        var generation = Settings(options, promptIds.Length);
        var stops = _options.StopSequences.Concat(options?.StopSequences ?? []).Where(s => s.Length > 0).Distinct().ToList();
        string responseId = Guid.NewGuid().ToString("N");
        var channel = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var detokenizer = new StreamingDetokenizer(_tokenizer, stops);
        int produced = 0;
        bool stoppedBySequence = false;

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        // Cancelled by the caller, or by us when the caller stops enumerating early.
        var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var clock = Stopwatch.StartNew();
        _options.Logger?.LogDebug("Chat request {Id}: {Messages} messages, {PromptTokens} prompt tokens, up to {MaxTokens} new tokens",
            responseId, list.Count, promptIds.Length, generation.MaxNewTokens);
        var worker = Task.Run(() =>
        {
            try
            {
                _model.Generate(promptIds, generation, id =>
                {
                    abort.Token.ThrowIfCancellationRequested();
                    produced++;
                    string piece = detokenizer.Add(id);
                    if (piece.Length > 0) channel.Writer.TryWrite(piece);
                    if (detokenizer.Stopped) throw new StopGeneration();
                });
            }
            catch (StopGeneration)
            {
                stoppedBySequence = true;
            }
            string rest = detokenizer.Finish();
            if (rest.Length > 0) channel.Writer.TryWrite(rest);
        }, CancellationToken.None);
        _ = worker.ContinueWith(t => channel.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);

        try
        {
            await foreach (string piece in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                cancellationToken.ThrowIfCancellationRequested(); // also when pieces are already waiting in the channel
                yield return new ChatResponseUpdate(ChatRole.Assistant, piece) { ResponseId = responseId, MessageId = responseId, ModelId = _options.ModelId };
            }
            await worker.ConfigureAwait(false);
        }
        finally
        {
            // Stop the worker if the caller left early (cancellation is checked at every token); wait so the model is free again.
            await abort.CancelAsync().ConfigureAwait(false);
            try { await worker.ConfigureAwait(false); } catch (OperationCanceledException) { /* the caller's cancellation was reported above */ }
            abort.Dispose();
            _gate.Release();
        }

        bool hitStopToken = !stoppedBySequence && produced < generation.MaxNewTokens;
        var reason = stoppedBySequence || hitStopToken ? ChatFinishReason.Stop : ChatFinishReason.Length;
        _options.Logger?.LogInformation("Chat request {Id}: {Completion} tokens after {Prompt} prompt tokens in {Seconds:F2} s ({Reason})",
            responseId, produced, promptIds.Length, clock.Elapsed.TotalSeconds, reason);
        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            ResponseId = responseId,
            MessageId = responseId,
            ModelId = _options.ModelId,
            FinishReason = reason,
            Contents = [new UsageContent(new UsageDetails { InputTokenCount = promptIds.Length, OutputTokenCount = produced, TotalTokenCount = promptIds.Length + produced })],
        };
    }

    private GenerationOptions Settings(ChatOptions? options, int promptLength)
    {
        int max = options?.MaxOutputTokens ?? _options.DefaultMaxOutputTokens;
        if (max <= 0) throw new ArgumentException($"MaxOutputTokens must be positive; got {max}.", nameof(options));
        max = Math.Min(max, _model.Config.MaxPositionEmbeddings - promptLength);
        if (max <= 0)
            throw new ArgumentException($"The prompt ({promptLength} tokens) fills the model's context of {_model.Config.MaxPositionEmbeddings} positions.", nameof(options));
        float? temperature = options?.Temperature;
        bool sample = temperature is > 0 || (temperature is null && (options?.TopP is not null || options?.TopK is not null));
        var stopIds = _options.StopTokenIds ?? (_model.Config.EosTokenIds.Count > 0 ? _model.Config.EosTokenIds
            : _tokenizer.EosTokenId is { } eos ? [eos] : []);
        var settings = new GenerationOptions
        {
            MaxNewTokens = max,
            Greedy = !sample,
            Temperature = temperature is > 0 ? temperature.Value : 1f,
            TopP = options?.TopP ?? 1f,
            TopK = options?.TopK ?? 0,
            Seed = options?.Seed is { } seed ? unchecked((ulong)seed) : 0,
            StopTokens = stopIds,
        };
        settings.Validate();
        return settings;
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return _metadata;
        if (serviceType.IsInstanceOfType(this)) return this;
        if (serviceType.IsInstanceOfType(_model)) return _model;
        if (serviceType.IsInstanceOfType(_tokenizer)) return _tokenizer;
        return null;
    }

    /// <inheritdoc/>
    public void Dispose() => _gate.Dispose();

    /// <summary>Ends generation from the token callback once a stop sequence is complete.</summary>
    private sealed class StopGeneration : Exception;
}
