using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using SparkControl.Core.Hosts;

namespace SparkControl.Tests.Infrastructure;

/// <summary>A hand-written host for unit tests: containers are a settable list, GPU samples come from a channel.</summary>
public sealed class FakeSparkHost(string name = "fake") : ISparkHost
{
    private readonly object _gate = new();
    private ImmutableList<ContainerSummary> _containers = [];

    public string Name => name;
    public Exception? Failure { get; set; }
    public TaskCompletionSource? ListGate { get; set; }
    public Channel<GpuSample> Gpu { get; } = Channel.CreateUnbounded<GpuSample>();
    public Dictionary<string, ContainerInfo> Details { get; } = [];
    public MemoryInfo Memory { get; set; } = new(128L << 30, 100L << 30);
    public List<ContainerLaunchSpec> Launched { get; } = [];
    public List<string> Stopped { get; } = [];

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

    public Task<string> RunContainerAsync(ContainerLaunchSpec spec, CancellationToken cancellationToken)
    {
        Launched.Add(spec);
        return Task.FromResult(spec.Name + "-id");
    }

    public Task StartContainerAsync(string container, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopContainerAsync(string container, TimeSpan grace, CancellationToken cancellationToken)
    {
        Stopped.Add(container);
        return Task.CompletedTask;
    }

    public Task RemoveContainerAsync(string container, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<IReadOnlyList<string>> GetLogsAsync(string container, LogQuery query, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([]);

    public async IAsyncEnumerable<string> FollowLogsAsync(string container, LogQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        yield break;
    }

    public async IAsyncEnumerable<GpuSample> WatchGpuAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var sample in Gpu.Reader.ReadAllAsync(cancellationToken))
        {
            yield return sample;
        }
    }

    public Task<IReadOnlyList<GpuComputeApp>> GetComputeAppsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<GpuComputeApp>>([]);

    public Task<MemoryInfo> GetMemoryInfoAsync(CancellationToken cancellationToken) => Task.FromResult(Memory);

    public Task<long?> GetDiskUsageAsync(string path, CancellationToken cancellationToken) => Task.FromResult<long?>(null);

    public Uri GetEndpoint(int port) => new($"http://{name}.test:{port}/");
}
