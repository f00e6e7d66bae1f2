namespace SparkControl.Core.Audio.Referee;

/// <summary>
/// The chat model the referee asks. A seam, so the referee's rules are tested without a model and the transport
/// (<see cref="OpenAiRefereeChat"/>) is tested without the rules.
/// </summary>
public interface IRefereeChat
{
    /// <summary>
    /// Sends a chat-completions body (built by <see cref="RefereePrompt"/>, without <c>model</c>) and returns the
    /// assistant message's content. Fails with <see cref="HttpRequestException"/> (transport or a non-2xx status),
    /// <see cref="TimeoutException"/> (no answer in time) or <see cref="RefereeChatException"/> (an answer of the wrong
    /// shape); <see cref="OperationCanceledException"/> only when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    Task<string> CompleteAsync(string requestJson, CancellationToken cancellationToken);
}

/// <summary>The chat model answered, but not with a chat completion the referee can read.</summary>
public sealed class RefereeChatException : Exception
{
    public RefereeChatException()
    {
    }

    public RefereeChatException(string message)
        : base(message)
    {
    }

    public RefereeChatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
