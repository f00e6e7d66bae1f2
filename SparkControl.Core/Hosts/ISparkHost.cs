namespace SparkControl.Core.Hosts;

/// <summary>
/// The seam between orchestration and one machine. <c>DockerSparkHost</c> does it with commands over SSH,
/// <c>SimulatedSparkHost</c> in process; code above this interface cannot tell them apart.
/// </summary>
public interface ISparkHost
{
    /// <summary>The Spark's name as configured (e.g. <c>spark-1</c>, or <c>demo</c>).</summary>
    string Name { get; }

    Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(CancellationToken cancellationToken);

    /// <summary>The container's state and limits, or null when no container has that name or id.</summary>
    Task<ContainerInfo?> InspectContainerAsync(string container, CancellationToken cancellationToken);

    /// <summary>Starts a detached container from <paramref name="spec"/> and returns its id.</summary>
    Task<string> RunContainerAsync(ContainerLaunchSpec spec, CancellationToken cancellationToken);

    /// <summary>Starts an existing, stopped container.</summary>
    Task StartContainerAsync(string container, CancellationToken cancellationToken);

    /// <summary>Stops a container, killing it after <paramref name="grace"/>.</summary>
    Task StopContainerAsync(string container, TimeSpan grace, CancellationToken cancellationToken);

    Task RemoveContainerAsync(string container, CancellationToken cancellationToken);

    Task<IReadOnlyList<string>> GetLogsAsync(string container, LogQuery query, CancellationToken cancellationToken);

    /// <summary>Log lines as they are written, until cancelled or the container's log ends.</summary>
    IAsyncEnumerable<string> FollowLogsAsync(string container, LogQuery query, CancellationToken cancellationToken);

    /// <summary>GPU samples as the GPU reports them, one per GPU per sample period, until cancelled.</summary>
    IAsyncEnumerable<GpuSample> WatchGpuAsync(CancellationToken cancellationToken);

    /// <summary>Processes holding GPU memory (per-process memory is reported even on GB10).</summary>
    Task<IReadOnlyList<GpuComputeApp>> GetComputeAppsAsync(CancellationToken cancellationToken);

    /// <summary>Unified memory from <c>/proc/meminfo</c>.</summary>
    Task<MemoryInfo> GetMemoryInfoAsync(CancellationToken cancellationToken);

    /// <summary>Apparent size in bytes of everything under <paramref name="path"/>, following symlinks; null when absent.</summary>
    Task<long?> GetDiskUsageAsync(string path, CancellationToken cancellationToken);

    /// <summary>The base address a service listening on <paramref name="port"/> of this Spark answers on.</summary>
    Uri GetEndpoint(int port);
}
