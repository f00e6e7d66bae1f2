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

    /// <summary>Start a swap when a request names a catalog model that is not loaded (off: such a request is an error).</summary>
    public bool AutoSwap { get; set; }

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

        foreach (var (key, value) in new[] { ("MaxChatBytes", options.MaxChatBytes), ("MaxCompletionBytes", options.MaxCompletionBytes), ("MaxEmbeddingBytes", options.MaxEmbeddingBytes) })
        {
            if (value is < 1024 or > 1L << 30)
            {
                errors.Add($"{prefix}:{key} must be between 1024 and 1073741824, not {value}");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
