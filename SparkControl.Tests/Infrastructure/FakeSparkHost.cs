using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using SparkControl.Core.Hosts;
using SparkControl.Core.Remote;

namespace SparkControl.Tests.Infrastructure;

/// <summary>A hand-written host for unit tests: containers are a settable list, GPU samples come from a channel.</summary>
public sealed class FakeSparkHost(string name = "fake") : ISparkHost
{
    private readonly object _gate = new();
    private ImmutableList<ContainerSummary> _containers = [];
    private int _gpuWatches;

    public string Name => name;
    public Exception? Failure { get; set; }
    public TaskCompletionSource? ListGate { get; set; }
    /// <summary>The GPU sample stream a watch reads now; <see cref="BreakGpuStream"/> fails it and starts a fresh one.</summary>
    public Channel<GpuSample> Gpu { get; private set; } = Channel.CreateUnbounded<GpuSample>();

    /// <summary>How many times the GPU stream was opened.</summary>
    public int GpuWatches => Volatile.Read(ref _gpuWatches);

    public Dictionary<string, ContainerInfo> Details { get; } = [];
    public MemoryInfo Memory { get; set; } = new(128L << 30, 100L << 30);

    /// <summary>Thrown by <see cref="GetMemoryInfoAsync"/> when set: the Spark does not answer.</summary>
    public Exception? MemoryFailure { get; set; }
    public List<ContainerLaunchSpec> Launched { get; } = [];
    public List<string> Stopped { get; } = [];
    public List<string> Started { get; } = [];
    public List<(string Container, long Memory, long Swap)> MemoryUpdates { get; } = [];
    public List<string> ClusterStops { get; } = [];
    public bool PasswordlessSudo { get; set; } = true;
    public List<HostAction> HostActions { get; } = [];

    /// <summary>What a host action prints; then it ends, or throws <see cref="HostActionFailure"/> if set.</summary>
    public IReadOnlyList<string> HostActionOutput { get; set; } = ["line 1", "line 2"];
    public Exception? HostActionFailure { get; set; }

    public void SetContainers(params ContainerSummary[] containers)
    {
        lock (_gate)
        {
            _containers = [.. containers];
        }
    }

    public static ContainerSummary Container(string name, ContainerStatus state, params (string Key, string Value)[] labels) =>
        new($"{name}-id", name, "image:tag", state, state.ToDockerName(), labels.ToImmutableDictionary(l => l.Key, l => l.Value));

    public async Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(CancellationToken cancellationToken)
    {
        if (ListGate is { } gate)
        {
            await gate.Task.WaitAsync(cancellationToken);
        }

        if (Failure is { } failure)
        {
            throw failure;
        }

        lock (_gate)
        {
            return _containers;
        }
    }

    public Task<ContainerInfo?> InspectContainerAsync(string container, CancellationToken cancellationToken) =>
        Task.FromResult(Details.GetValueOrDefault(container));

    public Task<string> RunContainerAsync(ContainerLaunch launch, CancellationToken cancellationToken)
    {
        Launched.Add(launch.Spec);
        return Task.FromResult(launch.Spec.Name + "-id");
    }

    public Task StartContainerAsync(string container, CancellationToken cancellationToken)
    {
        if (Failure is { } failure)
        {
            throw failure;
        }

        Started.Add(container);
        return Task.CompletedTask;
    }

    public Task StopContainerAsync(string container, TimeSpan grace, CancellationToken cancellationToken)
    {
        if (Failure is { } failure)
        {
            throw failure;
        }

        Stopped.Add(container);
        return Task.CompletedTask;
    }

    public Task RemoveContainerAsync(string container, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<IReadOnlyList<string>> GetLogsAsync(string container, LogQuery query, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([]);

    /// <summary>What <c>docker logs -f</c> prints, as a test writes it; completing the writer ends the stream.</summary>
    public Channel<string> FollowedLog { get; } = Channel.CreateUnbounded<string>();

    public async IAsyncEnumerable<string> FollowLogsAsync(string container, LogQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var line in FollowedLog.Reader.ReadAllAsync(cancellationToken))
        {
            yield return line;
        }
    }

    public async IAsyncEnumerable<GpuSample> WatchGpuAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _gpuWatches);
        await foreach (var sample in Gpu.Reader.ReadAllAsync(cancellationToken))
        {
            yield return sample;
        }
    }

    /// <summary>Fails the open GPU stream as a dropped SSH connection would; the next watch reads a new stream.</summary>
    public void BreakGpuStream(Exception failure)
    {
        var broken = Gpu;
        Gpu = Channel.CreateUnbounded<GpuSample>();
        broken.Writer.Complete(failure);
    }

    public Task<IReadOnlyList<GpuComputeApp>> GetComputeAppsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<GpuComputeApp>>([]);

    public Task<MemoryInfo> GetMemoryInfoAsync(CancellationToken cancellationToken) => MemoryFailure is { } failure ? Task.FromException<MemoryInfo>(failure) : Task.FromResult(Memory);

    public Task<long?> GetDiskUsageAsync(string path, CancellationToken cancellationToken) => Task.FromResult<long?>(null);

    public Task<DiskSpace?> GetDiskSpaceAsync(string path, CancellationToken cancellationToken) => Task.FromResult<DiskSpace?>(new DiskSpace(1L << 40, 1L << 39, "/"));

    public Task<bool> PathExistsAsync(string path, CancellationToken cancellationToken) => Task.FromResult(false);

    public Task<string?> RealPathAsync(string path, CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    public Task<IReadOnlyList<DirectoryEntry>> ListDirectoryAsync(string path, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<DirectoryEntry>>([]);

    public Task<string?> ReadFileAsync(string path, int maxBytes, CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    public Task<string> ExpandHomeAsync(string path, CancellationToken cancellationToken) => Task.FromResult(path.Replace("~", "/home/fake", StringComparison.Ordinal));

    public Task UpdateMemoryLimitAsync(string container, long memoryBytes, long swapBytes, CancellationToken cancellationToken)
    {
        MemoryUpdates.Add((container, memoryBytes, swapBytes));
        if (Details.TryGetValue(container, out var info))
        {
            Details[container] = info with { MemoryLimitBytes = memoryBytes, MemorySwapLimitBytes = swapBytes };
        }

        return Task.CompletedTask;
    }

    public Task<string> WriteSecretsEnvFileAsync(IReadOnlyDictionary<string, string> variables, CancellationToken cancellationToken) => Task.FromResult("/home/fake/secrets.env");

    public Task RemoveSecretsEnvFileAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task RegistryLoginAsync(string registry, string username, string password, CancellationToken cancellationToken) => Task.CompletedTask;

    public async IAsyncEnumerable<DownloadProgress> DownloadModelAsync(HfDownload download, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        yield return new DownloadProgress(1, 1, true);
    }

    public Task<ClusterState> LaunchClusterStatusAsync(SparkControl.Core.Hosts.LaunchClusterSettings settings, CancellationToken cancellationToken) =>
        Task.FromResult(new ClusterState(settings.ContainerName, new Dictionary<string, bool>(), string.Empty));

    public Task LaunchClusterStartAsync(ClusterLaunch launch, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task LaunchClusterStopAsync(SparkControl.Core.Hosts.LaunchClusterSettings settings, CancellationToken cancellationToken)
    {
        ClusterStops.Add(settings.ContainerName);
        return Task.CompletedTask;
    }

    public Task<bool> HasPasswordlessSudoAsync(CancellationToken cancellationToken) => Task.FromResult(PasswordlessSudo);

    private HostActionState? _hostAction;

    /// <summary>A detached action ends at once: its output is <see cref="HostActionOutput"/>, its exit status 0 or that of <see cref="HostActionFailure"/>.</summary>
    public Task StartHostActionAsync(HostAction action, CancellationToken cancellationToken)
    {
        HostActions.Add(action);
        _hostAction = new HostActionState(action, DateTimeOffset.UnixEpoch, HostActionProgress.Ended, HostActionFailure switch { null => 0, SparkCommandException failed => failed.ExitCode, _ => 1 });
        return Task.CompletedTask;
    }

    public Task<HostActionState?> GetHostActionStateAsync(CancellationToken cancellationToken) => Task.FromResult(_hostAction);

    public async IAsyncEnumerable<string> FollowHostActionAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        foreach (var line in HostActionOutput)
        {
            yield return line;
        }
    }

    public async IAsyncEnumerable<string> RunHostActionAsync(HostAction action, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        HostActions.Add(action);
        foreach (var line in HostActionOutput)
        {
            yield return line;
        }

        if (HostActionFailure is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>What each update check returns; a check not set here answers "nothing pending".</summary>
    public Dictionary<HostCheck, HostCheckOutput> HostCheckOutputs { get; } = [];

    public Task<HostCheckOutput> RunHostCheckAsync(HostCheck check, CancellationToken cancellationToken) =>
        Task.FromResult(HostCheckOutputs.GetValueOrDefault(check) ?? (check == HostCheck.FirmwareUpdates ? new HostCheckOutput(FirmwareUpdates.NothingToDo, string.Empty, "No updates available") : new HostCheckOutput(0, string.Empty, string.Empty)));

    public Task<HostFacts> GetHostFactsAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new HostFacts(name, "Test OS", "6.0", "aarch64", TimeSpan.FromHours(1), "28.0", "580", "13.0", "GB10"));

    public Uri GetEndpoint(int port) => new($"http://{name}.test:{port}/");
}
