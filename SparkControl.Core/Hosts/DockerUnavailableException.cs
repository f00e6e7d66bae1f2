using SparkControl.Core.Remote;

namespace SparkControl.Core.Hosts;

/// <summary>
/// The docker CLI ran but dockerd did not answer it (stopped, restarting): a fault of the Spark's daemon, not of the
/// command, that usually passes once dockerd is back.
/// </summary>
public sealed class DockerUnavailableException(string spark, string message, int exitCode, string output) : SparkCommandException(spark, message, exitCode, output)
{
    /// <summary>
    /// What the docker CLI says when its daemon does not answer: no socket to connect to, or (its prefix for transport
    /// failures) a connection that broke, as when dockerd stops with the request in flight.
    /// </summary>
    public static bool Says(string output) =>
        output.Contains("Cannot connect to the Docker daemon", StringComparison.Ordinal) || output.Contains("Is the docker daemon running?", StringComparison.Ordinal)
        || output.Contains("error during connect", StringComparison.Ordinal);
}
