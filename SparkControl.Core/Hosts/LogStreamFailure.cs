using SparkControl.Core.Diagnostics;
using SparkControl.Core.Remote;

namespace SparkControl.Core.Hosts;

/// <summary>
/// How a log viewer (the log page, the API's stream) tells that its stream failed rather than ended: the Spark went
/// away, the container is gone (a swap replaced it), or no stream channel was free. Both say it the same way.
/// </summary>
public static class LogStreamFailure
{
    public static bool Is(Exception exception) => exception is SparkUnreachableException or SparkCommandException;

    /// <summary>One line, redacted: it ends a plain-text stream, and an unreachable Spark's message is not redacted at its source.</summary>
    public static string Describe(Exception exception) => LogRedactor.Redact($"The log stream stopped: {exception.Message}".ReplaceLineEndings(" "));
}
