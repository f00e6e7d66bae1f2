namespace SparkControl.Core.Remote;

/// <summary>The Spark could not be reached (connection refused, timed out, circuit open); nothing ran.</summary>
public class SparkUnreachableException(string spark, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Spark { get; } = spark;
}

/// <summary>
/// A command ran on the Spark and failed; <see cref="ExitCode"/> and <see cref="Output"/> say how. Message and output
/// carry what the command printed, so secrets are masked here, before they can reach a log, the API or the history.
/// </summary>
public class SparkCommandException(string spark, string message, int exitCode, string output) : Exception(Diagnostics.LogRedactor.Redact(message))
{
    public string Spark { get; } = spark;
    public int ExitCode { get; } = exitCode;
    public string Output { get; } = Diagnostics.LogRedactor.Redact(output);
}
