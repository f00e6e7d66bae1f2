using SparkControl.Core.Remote;

namespace SparkControl.Core.Hosts;

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
