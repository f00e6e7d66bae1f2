using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using SparkControl.Core.Hosts;

namespace SparkControl.Tests.Swaps;

/// <summary>
/// Wraps a host and can hold chosen calls at a gate until the test opens it, so a swap can be caught in any phase.
/// <see cref="Reached"/> says the call arrived; everything else passes straight through.
/// </summary>
public sealed class GatedSparkHost(ISparkHost inner) : ISparkHost
{
    private readonly ConcurrentDictionary<string, (TaskCompletionSource Reached, TaskCompletionSource Open)> _gates = new();

    public ISparkHost Inner => inner;

    /// <summary>Holds the next and later calls of <paramref name="member"/> until <see cref="Open"/>.</summary>
    public void Close(string member) => _gates[member] = (new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously));

    public Task Reached(string member) => _gates[member].Reached.Task;

    public void Open(string member)
    {
        if (_gates.TryRemove(member, out var gate))
        {
            gate.Open.TrySetResult();
        }
    }

    private async Task PassAsync(string member, CancellationToken cancellationToken)
    {
        if (_gates.TryGetValue(member, out var gate))
        {
            gate.Reached.TrySetResult();
            await gate.Open.Task.WaitAsync(cancellationToken);
        }
    }

    public string Name => inner.Name;

    public async Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(CancellationToken cancellationToken)
    {
        await PassAsync(nameof(ListContainersAsync), cancellationToken);
        return await inner.ListContainersAsync(cancellationToken);
    }

    public Task<ContainerInfo?> InspectContainerAsync(string container, CancellationToken cancellationToken) => inner.InspectContainerAsync(container, cancellationToken);

    public async Task RemoveHfCacheFolderAsync(string hubPath, string folder, CancellationToken cancellationToken)
    {
        await PassAsync(nameof(RemoveHfCacheFolderAsync), cancellationToken);
        await inner.RemoveHfCacheFolderAsync(hubPath, folder, cancellationToken);
    }

    public async Task<string> RunContainerAsync(ContainerLaunch launch, CancellationToken cancellationToken)
    {
        await PassAsync(nameof(RunContainerAsync), cancellationToken);
        return await inner.RunContainerAsync(launch, cancellationToken);
    }

    public Task StartContainerAsync(string container, CancellationToken cancellationToken) => inner.StartContainerAsync(container, cancellationToken);

    public async Task StopContainerAsync(string container, TimeSpan grace, CancellationToken cancellationToken)
    {
        await PassAsync(nameof(StopContainerAsync), cancellationToken);
        await inner.StopContainerAsync(container, grace, cancellationToken);
    }

    public Task RemoveContainerAsync(string container, CancellationToken cancellationToken) => inner.RemoveContainerAsync(container, cancellationToken);

    public async Task<IReadOnlyList<string>> GetLogsAsync(string container, LogQuery query, CancellationToken cancellationToken)
    {
        await PassAsync(nameof(GetLogsAsync), cancellationToken);
        return await inner.GetLogsAsync(container, query, cancellationToken);
    }

    /// <summary>
    /// Set, a cancelled log follow ends only once it completes: a follow over SSH that takes a round trip to stop its
    /// remote process.
    /// </summary>
    public TaskCompletionSource? HoldFollowEnd { get; set; }

    /// <summary>
    /// Set, a cancelled log follow still hands over this line (after <see cref="HoldFollowEnd"/>, if set): one it had
    /// read before the cancel, as a stream over SSH does with what it has buffered.
    /// </summary>
    public string? LineReadBeforeTheCancel { get; set; }

    public async IAsyncEnumerable<string> FollowLogsAsync(string container, LogQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var cancelled = false;
        try
        {
            await PassAsync(nameof(FollowLogsAsync), cancellationToken);
            await using var lines = inner.FollowLogsAsync(container, query, cancellationToken).GetAsyncEnumerator(cancellationToken);
            while (true)
            {
                try
                {
                    if (!await lines.MoveNextAsync())
                    {
                        cancelled = LineReadBeforeTheCancel is not null && cancellationToken.IsCancellationRequested;
                        break;
                    }
                }
                catch (OperationCanceledException) when (LineReadBeforeTheCancel is not null)
                {
                    cancelled = true;
                    break;
                }

                yield return lines.Current;
            }
        }
        finally
        {
            if (HoldFollowEnd is { } hold)
            {
                await hold.Task;
            }
        }

        if (cancelled)
        {
            yield return LineReadBeforeTheCancel!;
        }
    }

    public IAsyncEnumerable<GpuSample> WatchGpuAsync(CancellationToken cancellationToken) => inner.WatchGpuAsync(cancellationToken);

    public Task<IReadOnlyList<GpuComputeApp>> GetComputeAppsAsync(CancellationToken cancellationToken) => inner.GetComputeAppsAsync(cancellationToken);

    public async Task<MemoryInfo> GetMemoryInfoAsync(CancellationToken cancellationToken)
    {
        await PassAsync(nameof(GetMemoryInfoAsync), cancellationToken);
        return await inner.GetMemoryInfoAsync(cancellationToken);
    }

    public Task<long?> GetDiskUsageAsync(string path, CancellationToken cancellationToken) => inner.GetDiskUsageAsync(path, cancellationToken);

    public Task<DiskSpace?> GetDiskSpaceAsync(string path, CancellationToken cancellationToken) => inner.GetDiskSpaceAsync(path, cancellationToken);

    public Task<bool> PathExistsAsync(string path, CancellationToken cancellationToken) => inner.PathExistsAsync(path, cancellationToken);

    public Task<string?> RealPathAsync(string path, CancellationToken cancellationToken) => inner.RealPathAsync(path, cancellationToken);

    public Task<IReadOnlyList<DirectoryEntry>> ListDirectoryAsync(string path, CancellationToken cancellationToken) => inner.ListDirectoryAsync(path, cancellationToken);

    public Task<string?> ReadFileAsync(string path, int maxBytes, CancellationToken cancellationToken) => inner.ReadFileAsync(path, maxBytes, cancellationToken);

    public Task<string> ExpandHomeAsync(string path, CancellationToken cancellationToken) => inner.ExpandHomeAsync(path, cancellationToken);

    public Task UpdateMemoryLimitAsync(string container, long memoryBytes, long swapBytes, CancellationToken cancellationToken) => inner.UpdateMemoryLimitAsync(container, memoryBytes, swapBytes, cancellationToken);

    public Task<string> WriteSecretsEnvFileAsync(IReadOnlyDictionary<string, string> variables, CancellationToken cancellationToken) => inner.WriteSecretsEnvFileAsync(variables, cancellationToken);

    public Task RemoveSecretsEnvFileAsync(CancellationToken cancellationToken) => inner.RemoveSecretsEnvFileAsync(cancellationToken);

    public Task RegistryLoginAsync(string registry, string username, string password, CancellationToken cancellationToken) => inner.RegistryLoginAsync(registry, username, password, cancellationToken);

    public async IAsyncEnumerable<DownloadProgress> DownloadModelAsync(HfDownload download, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await PassAsync(nameof(DownloadModelAsync), cancellationToken);
        await foreach (var progress in inner.DownloadModelAsync(download, cancellationToken))
        {
            yield return progress;
        }
    }

    public Task<ClusterState> LaunchClusterStatusAsync(LaunchClusterSettings settings, CancellationToken cancellationToken) => inner.LaunchClusterStatusAsync(settings, cancellationToken);

    public Task LaunchClusterStartAsync(ClusterLaunch launch, CancellationToken cancellationToken) => inner.LaunchClusterStartAsync(launch, cancellationToken);

    public Task LaunchClusterStopAsync(LaunchClusterSettings settings, CancellationToken cancellationToken) => inner.LaunchClusterStopAsync(settings, cancellationToken);

    public Task<bool> HasPasswordlessSudoAsync(CancellationToken cancellationToken) => inner.HasPasswordlessSudoAsync(cancellationToken);

    public IAsyncEnumerable<string> RunHostActionAsync(HostAction action, CancellationToken cancellationToken) => inner.RunHostActionAsync(action, cancellationToken);

    public Task StartHostActionAsync(HostAction action, CancellationToken cancellationToken) => inner.StartHostActionAsync(action, cancellationToken);

    public Task<HostActionState?> GetHostActionStateAsync(CancellationToken cancellationToken) => inner.GetHostActionStateAsync(cancellationToken);

    public IAsyncEnumerable<string> FollowHostActionAsync(CancellationToken cancellationToken) => inner.FollowHostActionAsync(cancellationToken);

    public Task<HostCheckOutput> RunHostCheckAsync(HostCheck check, CancellationToken cancellationToken) => inner.RunHostCheckAsync(check, cancellationToken);

    public Task<HostFacts> GetHostFactsAsync(CancellationToken cancellationToken) => inner.GetHostFactsAsync(cancellationToken);

    public Uri GetEndpoint(int port) => inner.GetEndpoint(port);
}
