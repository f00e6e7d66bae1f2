using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SparkControl.Core.Configuration;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Remote;
using SparkControl.Core.Secrets;

namespace SparkControl.Core.Hosts;

/// <summary>Makes the SSH shell and Docker host for a configured Spark.</summary>
public sealed class SparkHostFactory(
    HostKeyStore hostKeys,
    SecretStore secrets,
    SshKeyStore keys,
    ConnectivityTracker tracker,
    SparkControlMetrics metrics,
    TimeProvider time,
    IOptions<SparkControlOptions> options,
    ILoggerFactory loggers)
{
    public SshRemoteShell CreateShell(SparkDefinition spark) => new(
        new SshTarget(spark.Name, spark.Host, spark.Port, spark.User, spark.KeyPath) { PathPrefix = spark.PathPrefix, KeyDirectories = [.. keys.Directories] },
        hostKeys, secrets, tracker, metrics, time, options.Value.Ssh, loggers.CreateLogger<SshRemoteShell>());

    public DockerSparkHost CreateHost(SparkDefinition spark) => new(spark, CreateShell(spark), secrets, time, options.Value.GpuSampleInterval);
}
