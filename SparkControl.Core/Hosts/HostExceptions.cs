namespace SparkControl.Core.Hosts;

/// <summary>The Spark could not be reached (connection refused, timed out, circuit open); nothing ran.</summary>
public class SparkUnreachableException(string spark, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Spark { get; } = spark;
}

/// <summary>
/// A command ran on the Spark and failed; <see cref="ExitCode"/> and <see cref="Output"/> say how. Message and output
/// carry what the command printed, so secrets are masked here, before they can reach a log, the API or the history.
/// </summary>
public class SparkCommandException(string spark, string message, int exitCode, string output) : Exception(Services.LogRedactor.Redact(message))
{
    public string Spark { get; } = spark;
    public int ExitCode { get; } = exitCode;
    public string Output { get; } = Services.LogRedactor.Redact(output);
}

/// <summary>
/// The docker CLI ran but dockerd did not answer it (stopped, restarting): a fault of the Spark's daemon, not of the
/// command, that usually passes once dockerd is back.
/// </summary>
public sealed class DockerUnavailableException(string spark, string message, int exitCode, string output) : SparkCommandException(spark, message, exitCode, output)
{
    /// <summary>What the docker CLI says when its daemon does not answer.</summary>
    public static bool Says(string output) =>
        output.Contains("Cannot connect to the Docker daemon", StringComparison.Ordinal) || output.Contains("Is the docker daemon running?", StringComparison.Ordinal);
}
