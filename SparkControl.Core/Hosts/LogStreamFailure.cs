using SparkControl.Core.Remote;

namespace SparkControl.Core.Hosts;

/// <summary>
/// How a log viewer (the log page, the API's stream) tells that its stream failed rather than ended: the Spark went
/// away, the container is gone (a swap replaced it), or no stream channel was free. Both say it the same way.
/// </summary>
public static class LogStreamFailure
{
    public static bool Is(Exception exception) => exception is SparkUnreachableException or SparkCommandException;

    public static string Describe(Exception exception) => $"The log stream stopped: {exception.Message}";
}
