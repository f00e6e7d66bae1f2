using Microsoft.Extensions.Options;

namespace SparkControl.Core.Gateway;

/// <summary>Settings under <c>Gateway</c>: the OpenAI-compatible endpoint in front of the model servers.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>Longest silence allowed from an upstream (queueing and long prefill send nothing).</summary>
    public TimeSpan ActivityTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a request may wait for a swap (draining, loading) before it gets 503 with Retry-After.</summary>
    public TimeSpan QueueTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Requests that may wait at once; more get 503 at once.</summary>
    public int QueueLimit { get; set; } = 256;

    /// <summary>Requests one client (by address) may have in flight; more get 429.</summary>
    public int PerClientConcurrency { get; set; } = 32;

    /// <summary>Requests the gateway handles at once, from all clients together; more get 503 at once.</summary>
    public int MaxInFlight { get; set; } = 1024;

    /// <summary>The body bytes all requests waiting for a swap may hold together; past it a request gets 503 at once.</summary>
    public long MaxQueuedBytes { get; set; } = 256L << 20;

    public long MaxChatBytes { get; set; } = 8L << 20;

    public long MaxCompletionBytes { get; set; } = 8L << 20;

    public long MaxEmbeddingBytes { get; set; } = 16L << 20;

    /// <summary>The largest upload <c>/v1/audio/transcriptions</c> takes (413 past it, before a worker sees a byte).</summary>
    public long MaxTranscriptionBytes { get; set; } = 200L << 20;

    /// <summary>The largest upload <c>/v1/audio/translations</c> takes.</summary>
    public long MaxTranslationBytes { get; set; } = 200L << 20;

    /// <summary>The largest JSON body <c>/v1/audio/speech</c> takes (its input is at most 4,096 characters).</summary>
    public long MaxSpeechBytes { get; set; } = 64L << 10;

    /// <summary>Requests that may wait for a slot per usable audio worker answering to a model; more get 503 with Retry-After.</summary>
    public int AudioQueueLength { get; set; } = 4;

    /// <summary>How long an audio request may wait for a worker slot before it gets 503 with Retry-After.</summary>
    public TimeSpan AudioQueueWait { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Start a swap when a request names a catalog model that is not loaded (off: such a request is an error).</summary>
    public bool AutoSwap { get; set; }

    /// <summary>
    /// Run the forwarding path against a canned server of the panel's own as it starts, then collect the start-up's
    /// garbage, so that the first clients do not wait on the JIT or the first full collection. Off where many panels
    /// share one process (the tests), as the collection pauses them all.
    /// </summary>
    public bool WarmUp { get; set; } = true;

    /// <summary>
    /// Whether <c>/v1</c> needs a client key (<c>Authorization: Bearer sck_…</c>); unset: required whenever the panel
    /// listens beyond loopback.
    /// </summary>
    public bool? RequireKey { get; set; }
}

public sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var errors = new List<string>();
        const string prefix = GatewayOptions.Section;
        Configuration.SparkControlOptionsValidator.Positive(errors, $"{prefix}:ActivityTimeout", options.ActivityTimeout);
        Configuration.SparkControlOptionsValidator.Positive(errors, $"{prefix}:QueueTimeout", options.QueueTimeout);
        if (options.QueueLimit is < 0 or > 100_000)
        {
            errors.Add($"{prefix}:QueueLimit must be between 0 and 100000, not {options.QueueLimit}");
        }

        if (options.PerClientConcurrency is < 1 or > 10_000)
        {
            errors.Add($"{prefix}:PerClientConcurrency must be between 1 and 10000, not {options.PerClientConcurrency}");
        }

        if (options.MaxInFlight is < 1 or > 100_000)
        {
            errors.Add($"{prefix}:MaxInFlight must be between 1 and 100000, not {options.MaxInFlight}");
        }

        if (options.MaxQueuedBytes is < 1 << 20 or > 64L << 30)
        {
            errors.Add($"{prefix}:MaxQueuedBytes must be between 1048576 and 68719476736, not {options.MaxQueuedBytes}");
        }

        Configuration.SparkControlOptionsValidator.Positive(errors, $"{prefix}:AudioQueueWait", options.AudioQueueWait);
        if (options.AudioQueueLength is < 0 or > 10_000)
        {
            errors.Add($"{prefix}:AudioQueueLength must be between 0 and 10000, not {options.AudioQueueLength}");
        }

        // JSON bodies are read into memory (1 GiB at most); audio uploads go to disk (4 GiB at most).
        foreach (var (key, value, most) in new[]
        {
            ("MaxChatBytes", options.MaxChatBytes, 1L << 30), ("MaxCompletionBytes", options.MaxCompletionBytes, 1L << 30), ("MaxEmbeddingBytes", options.MaxEmbeddingBytes, 1L << 30),
            ("MaxSpeechBytes", options.MaxSpeechBytes, 1L << 30), ("MaxTranscriptionBytes", options.MaxTranscriptionBytes, 4L << 30), ("MaxTranslationBytes", options.MaxTranslationBytes, 4L << 30),
        })
        {
            if (value < 1024 || value > most)
            {
                errors.Add($"{prefix}:{key} must be between 1024 and {most}, not {value}");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
