using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using SparkControl.Core.Hosts;
using SparkControl.Sim.Qdrant;
using SparkControl.Sim.Server;
using SparkControl.Sim.Vllm;
using SparkControl.Core.Remote;

namespace SparkControl.Sim.Hosting;

/// <summary>How a simulated Spark behaves.</summary>
public sealed record SimSparkSettings
{
    public string Name { get; init; } = "demo";

    /// <summary>MemTotal as a DGX Spark reports it (about 121.7 GiB usable).</summary>
    public long MemTotalBytes { get; init; } = 127_600_748L * 1024;

    /// <summary>Memory the OS and page cache hold before any container runs.</summary>
    public long BaselineUsedBytes { get; init; } = 6L << 30;

    /// <summary>Memory each non-model container holds.</summary>
    public long ServiceContainerBytes { get; init; } = 3L << 30;

    public TimeSpan GpuSampleInterval { get; init; } = TimeSpan.FromSeconds(1);
    public GpuReplay? Replay { get; init; }
    public double ReplaySpeed { get; init; } = 1;

    /// <summary>Plays the capture again from its start each time it ends, instead of once.</summary>
    public bool ReplayLoop { get; init; }

    /// <summary>Starts the capture once a model server answers (the GPU idles until then), not at the first watch.</summary>
    public bool ReplayWhenServing { get; init; }

    /// <summary>Load time per GiB of weights when <see cref="FixedLoadTime"/> is not set.</summary>
    public double LoadSecondsPerGiB { get; init; } = 0.25;

    public TimeSpan? FixedLoadTime { get; init; }
    public double TokensPerSecond { get; init; } = 40;

    /// <summary>What the model servers' chat completions answer (<see cref="SimBehaviour.ChatScript"/>); null: the fixed reply.</summary>
    public SimChatScript? ChatScript { get; init; }

    /// <summary>Size in GiB of the models the simulated Spark knows, by the argument vLLM is given (repo id or path).</summary>
    public ImmutableDictionary<string, double> ModelSizesGiB { get; init; } = ImmutableDictionary<string, double>.Empty;

    /// <summary>What the simulated ASR worker decodes with; null: pocketsphinx with the generic model.</summary>
    public Audio.ISimTranscriber? AsrTranscriber { get; init; }

    /// <summary>How fast a simulated <c>hf download</c> fills the cache.</summary>
    public double DownloadBytesPerSecond { get; init; } = 2L << 30;
}

/// <summary>
/// A Spark in process: containers are tasks, model servers are <see cref="SimModelServer"/>s on loopback ports, the
/// GPU follows the requests in flight (or replays a capture), and <c>du</c> reads a <see cref="SimDisk"/>.
/// </summary>
public sealed class SimulatedSparkHost : ISparkHost, IAsyncDisposable
{
    private readonly SimSparkSettings _settings;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, SimContainer> _containers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, LoopbackPort> _ports = new();
    private readonly ConcurrentDictionary<string, SimQdrantStore> _qdrantStores = new(StringComparer.Ordinal);

    /// <summary>Files this host writes for its containers (Qdrant's snapshots), removed when it is disposed.</summary>
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "sparkcontrol-sim-" + Guid.NewGuid().ToString("N"));
    private readonly ConcurrentQueue<SimFailure> _scheduledFailures = new();
    private readonly ConcurrentQueue<TimeSpan> _scheduledLoadTimes = new();
    private readonly ConcurrentQueue<Task> _scheduledHolds = new();
    private readonly object _replayGate = new();
    private DateTimeOffset? _replayAnchor;
    private int _nextPid = 4100;

    public SimulatedSparkHost(SimSparkSettings settings, TimeProvider time)
    {
        _settings = settings;
        _time = time;
        _startedAt = time.GetUtcNow();
    }

    private readonly DateTimeOffset _startedAt;

    public string Name => _settings.Name;

    public SimDisk Disk { get; } = new();

    /// <summary>While false every call fails as an SSH connection to a dead Spark would.</summary>
    public bool Reachable { get; set; } = true;

    /// <summary>Makes the next model launch fail this way (one failure per call).</summary>
    public void FailNextLaunch(SimFailure failure) => _scheduledFailures.Enqueue(failure);

    /// <summary>Makes the next model launch take this long to load (one per call).</summary>
    public void SlowNextLaunch(TimeSpan loadTime) => _scheduledLoadTimes.Enqueue(loadTime);

    /// <summary>
    /// Keeps the next model launch loading (its port closed) after its load time until the returned source is completed:
    /// a test can look at a swap in Loading for as long as it needs, whatever the machine's speed.
    /// </summary>
    public TaskCompletionSource HoldNextLaunch()
    {
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _scheduledHolds.Enqueue(hold.Task);
        return hold;
    }

    /// <summary>The model servers of running containers, by container name.</summary>
    public IReadOnlyDictionary<string, SimModelServer> ModelServers =>
        _containers.Values.Where(c => c.ModelServer is not null).ToDictionary(c => c.Name, c => c.ModelServer!);

    public Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(CancellationToken cancellationToken)
    {
        EnsureReachable();
        IReadOnlyList<ContainerSummary> list = [.. _containers.Values.OrderBy(c => c.CreatedAt).Select(c => c.Summary(_time.GetUtcNow()))];
        return Task.FromResult(list);
    }

    public Task<ContainerInfo?> InspectContainerAsync(string container, CancellationToken cancellationToken)
    {
        EnsureReachable();
        return Task.FromResult(Find(container)?.Info());
    }

    public Task<string> RunContainerAsync(ContainerLaunch launch, CancellationToken cancellationToken)
    {
        EnsureReachable();
        var spec = launch.Spec;
        var container = new SimContainer(spec, _time);
        if (!_containers.TryAdd(spec.Name, container))
        {
            throw new SparkCommandException(Name, $"Conflict. The container name \"/{spec.Name}\" is already in use by container \"{_containers[spec.Name].Id}\". You have to remove (or rename) that container to be able to reuse that name.", 125, string.Empty);
        }

        Start(container);
        return Task.FromResult(container.Id);
    }

    public Task StartContainerAsync(string container, CancellationToken cancellationToken)
    {
        EnsureReachable();
        var found = Find(container) ?? throw NoSuchContainer(container);
        if (found.Status != ContainerStatus.Running)
        {
            found.Log.Reopen();
            Start(found);
        }

        return Task.CompletedTask;
    }

    public async Task StopContainerAsync(string container, TimeSpan grace, CancellationToken cancellationToken)
    {
        EnsureReachable();
        var found = Find(container) ?? throw NoSuchContainer(container);
        await found.StopAsync(grace, _time).ConfigureAwait(false);
        if (found.Spec.RemoveOnExit)
        {
            _containers.TryRemove(found.Name, out _);
        }
    }

    public Task RemoveContainerAsync(string container, CancellationToken cancellationToken)
    {
        EnsureReachable();
        var found = Find(container) ?? throw NoSuchContainer(container);
        if (found.Status == ContainerStatus.Running)
        {
            throw new SparkCommandException(Name, $"You cannot remove a running container {found.Id}. Stop the container before attempting removal or force remove", 1, string.Empty);
        }

        _containers.TryRemove(found.Name, out _);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> GetLogsAsync(string container, LogQuery query, CancellationToken cancellationToken)
    {
        EnsureReachable();
        var found = Find(container) ?? throw NoSuchContainer(container);
        return Task.FromResult(found.Log.Read(query.Tail, query.Since));
    }

    public IAsyncEnumerable<string> FollowLogsAsync(string container, LogQuery query, CancellationToken cancellationToken)
    {
        EnsureReachable();
        var found = Find(container) ?? throw NoSuchContainer(container);
        return found.Log.FollowAsync(query.Tail, query.Since, cancellationToken);
    }

    public async IAsyncEnumerable<GpuSample> WatchGpuAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        EnsureReachable();
        var interval = _settings.GpuSampleInterval;
        if (_settings.Replay is { } replay)
        {
            await foreach (var sample in ReplayAsync(replay, interval, cancellationToken).ConfigureAwait(false))
            {
                yield return sample;
            }

            yield break;
        }

        using var timer = new PeriodicTimer(interval, _time);
        while (true)
        {
            EnsureReachable();
            yield return LiveSample();
            await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The capture as nvidia-smi would deliver it: every sample once, in order, with its own (re-stamped) timestamp. A
    /// sample that falls due while the reader is busy is handed over late, never dropped: like a real stream's samples
    /// waiting in the SSH channel, they keep the time they were taken. A watch that starts later (a reconnect) joins at
    /// the sample due now, as a new nvidia-smi would. Before the capture starts, and after a single pass ends, the GPU
    /// idles.
    /// </summary>
    private async IAsyncEnumerable<GpuSample> ReplayAsync(GpuReplay replay, TimeSpan interval, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        DateTimeOffset? anchored;
        while ((anchored = ReplayAnchor()) is null)
        {
            // Waiting for a model to serve: the GPU idles meanwhile.
            await Task.Delay(interval, _time, cancellationToken).ConfigureAwait(false);
            EnsureReachable();
            yield return IdleSample(_time.GetUtcNow());
        }

        var anchor = anchored.Value;
        // A loop plays the capture again one capture-interval after its last sample, so passes join without a gap.
        var period = replay.Duration(_settings.ReplaySpeed) + replay.Spacing(_settings.ReplaySpeed);
        var (pass, index) = replay.Locate(anchor, period, _time.GetUtcNow() - interval, _settings.ReplaySpeed);
        var last = anchor;
        while (_settings.ReplayLoop || pass == 0)
        {
            var sample = replay.Sample(anchor + (period * pass), index, _settings.ReplaySpeed);
            var wait = sample.Timestamp - _time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
            }

            EnsureReachable();
            yield return sample;
            last = sample.Timestamp;
            if (++index == replay.Samples.Length)
            {
                (pass, index) = (pass + 1, 0);
            }
        }

        while (true)
        {
            await Task.Delay(interval, _time, cancellationToken).ConfigureAwait(false);
            EnsureReachable();
            var now = _time.GetUtcNow();
            last = now > last ? now : last + TimeSpan.FromTicks(1);
            yield return IdleSample(last);
        }
    }

    /// <summary>
    /// When the capture starts: at the first watch, or (<see cref="SimSparkSettings.ReplayWhenServing"/>) once a model
    /// server answers. Fixed once per host, so every watch follows the same timeline; null while it waits.
    /// </summary>
    private DateTimeOffset? ReplayAnchor()
    {
        lock (_replayGate)
        {
            if (_replayAnchor is null && (!_settings.ReplayWhenServing || _containers.Values.Any(c => c.ModelServer?.State == SimServerState.Serving)))
            {
                _replayAnchor = _time.GetUtcNow();
            }

            return _replayAnchor;
        }
    }

    private static GpuSample IdleSample(DateTimeOffset at) => new(at, 0, 0, null, null, 4.5, 36);

    /// <summary>GB10-like: utilization follows the requests in flight, memory fields are unknown (<c>[N/A]</c>).</summary>
    private GpuSample LiveSample()
    {
        var servers = _containers.Values.Select(c => c.ModelServer).OfType<SimModelServer>().ToList();
        var inFlight = servers.Where(s => s.State == SimServerState.Serving).Sum(s => s.InFlight);
        var loading = servers.Any(s => s.State == SimServerState.Loading);
        double utilization = inFlight > 0 ? Math.Min(100, 55 + (15 * inFlight)) : loading ? 12 : 0;
        return new GpuSample(_time.GetUtcNow(), 0, utilization, null, null, Math.Round(4.5 + (utilization * 0.9), 2), Math.Round(36 + (utilization * 0.3), 0));
    }

    public Task<IReadOnlyList<GpuComputeApp>> GetComputeAppsAsync(CancellationToken cancellationToken)
    {
        EnsureReachable();
        IReadOnlyList<GpuComputeApp> apps = [.. _containers.Values
            .Where(c => c.ModelServer is { State: SimServerState.Loading or SimServerState.Serving })
            .Select(c => new GpuComputeApp("GPU-00000000-0000-0000-0000-000000000000", c.Pid, "/usr/bin/python3", Math.Round(Reservation(c) / 1048576.0)))];
        return Task.FromResult(apps);
    }

    public Task<MemoryInfo> GetMemoryInfoAsync(CancellationToken cancellationToken)
    {
        EnsureReachable();
        var used = _settings.BaselineUsedBytes + _containers.Values.Where(c => c.Status == ContainerStatus.Running).Sum(Reservation);
        return Task.FromResult(new MemoryInfo(_settings.MemTotalBytes, Math.Max(0, _settings.MemTotalBytes - used)));
    }

    public Task<long?> GetDiskUsageAsync(string path, CancellationToken cancellationToken)
    {
        EnsureReachable();
        return Task.FromResult(Disk.Usage(path));
    }

    public Task<DiskSpace?> GetDiskSpaceAsync(string path, CancellationToken cancellationToken)
    {
        EnsureReachable();
        return Task.FromResult<DiskSpace?>(FreeSpace("/"));
    }

    /// <summary>The simulated disk's free space: one file system holds everything.</summary>
    private DiskSpace FreeSpace(string mountPoint) => new(Disk.CapacityBytes, Math.Max(0, Disk.CapacityBytes - Disk.UsedBytes), mountPoint);

    public Task<bool> PathExistsAsync(string path, CancellationToken cancellationToken)
    {
        EnsureReachable();
        return Task.FromResult(Disk.Exists(path));
    }

    public Task<string?> RealPathAsync(string path, CancellationToken cancellationToken)
    {
        EnsureReachable();
        return Task.FromResult(Disk.Exists(path) ? Disk.Resolve(path) : null);
    }

    public Task<IReadOnlyList<DirectoryEntry>> ListDirectoryAsync(string path, CancellationToken cancellationToken)
    {
        EnsureReachable();
        return Task.FromResult(Disk.List(path));
    }

    public Task<string?> ReadFileAsync(string path, int maxBytes, CancellationToken cancellationToken)
    {
        EnsureReachable();
        var content = Disk.ReadFile(path);
        return Task.FromResult(content is null ? null : content.Length > maxBytes ? content[..maxBytes] : content);
    }

    public Task RemoveHfCacheFolderAsync(string hubPath, string folder, CancellationToken cancellationToken)
    {
        EnsureReachable();
        // The same checks as on a real Spark: a bad name fails here too.
        Disk.RemoveTree(DockerSparkHost.RemoveHfCacheFolderArgv(hubPath, folder)[^1]);
        return Task.CompletedTask;
    }

    public Task<string> ExpandHomeAsync(string path, CancellationToken cancellationToken) =>
        Task.FromResult(path == "~" || path.StartsWith("~/", StringComparison.Ordinal) ? "/home/demo" + path[1..] : path);

    public Task UpdateMemoryLimitAsync(string container, long memoryBytes, long swapBytes, CancellationToken cancellationToken)
    {
        EnsureReachable();
        var found = Find(container) ?? throw NoSuchContainer(container);
        found.UpdateLimits(memoryBytes, swapBytes);
        return Task.CompletedTask;
    }

    /// <summary>The names in the secrets env file while it exists on the simulated Spark (the values stay in this process).</summary>
    public IReadOnlyCollection<string>? SecretsEnvFile { get; private set; }

    /// <summary>The names last written to the secrets env file, removed since or not.</summary>
    public IReadOnlyCollection<string> SecretsEnvFileWritten { get; private set; } = [];

    public Task<string> WriteSecretsEnvFileAsync(IReadOnlyDictionary<string, string> variables, CancellationToken cancellationToken)
    {
        EnsureReachable();
        SecretsEnvFile = SecretsEnvFileWritten = [.. variables.Keys];
        return Task.FromResult("/home/demo/.config/sparkcontrol/secrets.env");
    }

    public Task RemoveSecretsEnvFileAsync(CancellationToken cancellationToken)
    {
        EnsureReachable();
        SecretsEnvFile = null;
        return Task.CompletedTask;
    }

    /// <summary>The registries logged in to, with the user (never the password), in order.</summary>
    public ConcurrentQueue<(string Registry, string User)> RegistryLogins { get; } = new();

    public Task RegistryLoginAsync(string registry, string username, string password, CancellationToken cancellationToken)
    {
        EnsureReachable();
        RegistryLogins.Enqueue((registry, username));
        return Task.CompletedTask;
    }

    /// <summary>The registries this Spark pulls from.</summary>
    public SimRegistry Registry { get; } = new();

    public Task<RemoteImage> InspectRemoteImageAsync(string image, CancellationToken cancellationToken)
    {
        EnsureReachable();
        var found = FindImage(image);
        if (found.Architecture != SimRegistry.SparkArchitecture)
        {
            throw ImageManifests.NoVariant(SimRegistry.SparkArchitecture, [$"linux/{found.Architecture}"]);
        }

        return Task.FromResult(new RemoteImage(image, $"linux/{found.Architecture}", found.Layers.Length, found.Layers.Sum(), FreeSpace("/var/lib/docker")));
    }

    /// <summary>The image in its registry, which shows it only once this Spark has logged in there.</summary>
    private SimImage FindImage(string image) => Registry.Find(Name, image, RegistryLogins.Any(l => l.Registry == ImageRegistry.Of(image)));

    /// <summary>A simulated pull: each layer takes its size at <see cref="SimSparkSettings.DownloadBytesPerSecond"/>.</summary>
    public async IAsyncEnumerable<PullProgress> PullImageAsync(string image, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var found = FindImage(image);
        var reader = new PullLineReader();
        foreach (var (line, bytes) in Registry.PullLines(found))
        {
            if (bytes > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(bytes / _settings.DownloadBytesPerSecond), _time, cancellationToken).ConfigureAwait(false);
            }

            EnsureReachable();
            if (reader.Read(line) is { } progress)
            {
                yield return progress;
            }
        }
    }

    /// <summary>The other simulated Sparks this one reaches over the Sparks' own link, by their address there.</summary>
    public ConcurrentDictionary<string, SimulatedSparkHost> LinkPeers { get; } = new(StringComparer.Ordinal);

    /// <summary>A simulated rsync: the directory grows on the peer at <see cref="SimSparkSettings.DownloadBytesPerSecond"/>, its small files copied.</summary>
    public async Task CopyDirectoryAsync(string source, string targetHost, string targetPath, CancellationToken cancellationToken)
    {
        EnsureReachable();
        var peer = LinkPeers.GetValueOrDefault(targetHost)
            ?? throw new SparkCommandException(Name, $"rsync of {source} to {targetHost} failed on {Name} (exit 255): ssh: connect to host {targetHost} port 22: No route to host", 255, string.Empty);
        var total = Disk.Usage(source) ?? throw new SparkCommandException(Name, $"rsync of {source} to {targetHost} failed on {Name} (exit 23): change_dir \"{source}\" failed: No such file or directory (2)", 23, string.Empty);
        var files = Disk.FilesIn(source).ToArray();
        await foreach (var _ in GrowAsync(peer, targetPath, total, files, cancellationToken).ConfigureAwait(false))
        {
        }

        foreach (var file in files)
        {
            if (Disk.ReadFile($"{source}/{file}") is { } content)
            {
                peer.Disk.AddFile($"{targetPath}/{file}", content);
            }
        }
    }

    /// <summary>A simulated download: the repo's cache folder grows at <see cref="SimSparkSettings.DownloadBytesPerSecond"/>.</summary>
    public async IAsyncEnumerable<DownloadProgress> DownloadModelAsync(HfDownload download, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        EnsureReachable();
        var total = download.ExpectedBytes ?? (long)(_settings.ModelSizesGiB.GetValueOrDefault(download.Repo, 4) * (1L << 30));
        var done = Disk.Usage(download.CacheFolder) ?? 0;
        await foreach (var grown in GrowAsync(this, download.CacheFolder, total, ["config.json", "model.safetensors", "tokenizer.json"], cancellationToken).ConfigureAwait(false))
        {
            done = grown;
            yield return new DownloadProgress(done, total, false);
        }

        yield return new DownloadProgress(done, total, true);
    }

    /// <summary>
    /// A directory on <paramref name="into"/> filling at <see cref="SimSparkSettings.DownloadBytesPerSecond"/> from what it
    /// holds up to <paramref name="total"/>, one step per sample period (a download here, a copy from here): its size after
    /// each step. Either end going unreachable stops it.
    /// </summary>
    private async IAsyncEnumerable<long> GrowAsync(SimulatedSparkHost into, string path, long total, string[] files, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var done = into.Disk.Usage(path) ?? 0;
        var step = (long)(_settings.DownloadBytesPerSecond * _settings.GpuSampleInterval.TotalSeconds);
        while (done < total)
        {
            await Task.Delay(_settings.GpuSampleInterval, _time, cancellationToken).ConfigureAwait(false);
            EnsureReachable();
            into.EnsureReachable();
            done = Math.Min(total, done + step);
            into.Disk.AddDirectory(path, done, files);
            yield return done;
        }
    }

    public Task<ClusterState> LaunchClusterStatusAsync(Core.Hosts.LaunchClusterSettings settings, CancellationToken cancellationToken)
    {
        EnsureReachable();
        var running = Find(settings.ContainerName)?.Status == ContainerStatus.Running;
        var nodes = settings.Nodes.IsEmpty ? ["localhost"] : settings.Nodes.ToList();
        return Task.FromResult(new ClusterState(settings.ContainerName, nodes.ToDictionary(n => n, _ => running), running ? "RUNNING" : "NOT running"));
    }

    public async Task LaunchClusterStartAsync(ClusterLaunch launch, CancellationToken cancellationToken)
    {
        var (settings, start) = (launch.Settings, launch.Start);
        await LaunchClusterStopAsync(settings, cancellationToken).ConfigureAwait(false);
        await RunContainerAsync(ContainerLaunch.Of(new ContainerLaunchSpec
        {
            Name = settings.ContainerName,
            Image = settings.Image ?? "vllm-node",
            Command = [.. start.ServeCommand],
            Mounts = [.. start.Volumes],
            RemoveOnExit = true,
        }), cancellationToken).ConfigureAwait(false);
    }

    public async Task LaunchClusterStopAsync(Core.Hosts.LaunchClusterSettings settings, CancellationToken cancellationToken)
    {
        EnsureReachable();
        if (Find(settings.ContainerName) is { } container)
        {
            await container.StopAsync(TimeSpan.FromSeconds(10), _time).ConfigureAwait(false);
            _containers.TryRemove(container.Name, out _);
        }
    }

    public Task<bool> HasPasswordlessSudoAsync(CancellationToken cancellationToken)
    {
        EnsureReachable();
        return Task.FromResult(true);
    }

    /// <summary>Apt prints what apt prints; a reboot stops every container and the Spark is away for a moment.</summary>
    public async IAsyncEnumerable<string> RunHostActionAsync(HostAction action, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        EnsureReachable();
        foreach (var line in HostActionLines(action))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(150), _time, cancellationToken).ConfigureAwait(false);
            yield return line;
        }

        if (action == HostAction.Reboot)
        {
            foreach (var container in _containers.Values)
            {
                await container.StopAsync(TimeSpan.FromSeconds(5), _time).ConfigureAwait(false);
            }

            Reachable = false;
            _ = Task.Delay(TimeSpan.FromSeconds(5), _time, CancellationToken.None).ContinueWith(_ => Reachable = true, TaskScheduler.Default);
        }
    }

    /// <summary>The detached host action: its output grows on its own, whoever follows it.</summary>
    private SimHostAction? _hostAction;

    private sealed class SimHostAction(HostAction action, DateTimeOffset startedAt)
    {
        public HostAction Action { get; } = action;
        public DateTimeOffset StartedAt { get; } = startedAt;
        public List<string> Lines { get; } = [];
        public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Grew { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public Task StartHostActionAsync(HostAction action, CancellationToken cancellationToken)
    {
        EnsureReachable();
        var run = new SimHostAction(action, _time.GetUtcNow());
        lock (_containers)
        {
            if (_hostAction is { Ended.Task.IsCompleted: false } running)
            {
                throw new HostActionRefusedException($"{Name}: {HostActionNames.Describe(running.Action)} is already running; its output is on the Host page. Wait for it to end.");
            }

            _hostAction = run;
        }

        _ = Task.Run(async () =>
        {
            foreach (var line in HostActionLines(action))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(150), _time, CancellationToken.None).ConfigureAwait(false);
                TaskCompletionSource grew;
                lock (run)
                {
                    run.Lines.Add(line);
                    grew = run.Grew;
                    run.Grew = new(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                grew.TrySetResult();
            }

            run.Ended.TrySetResult();
        }, CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task<HostActionState?> GetHostActionStateAsync(CancellationToken cancellationToken)
    {
        EnsureReachable();
        return Task.FromResult(_hostAction is not { } run
            ? null
            : new HostActionState(run.Action, run.StartedAt, run.Ended.Task.IsCompleted ? HostActionProgress.Ended : HostActionProgress.Running, run.Ended.Task.IsCompleted ? 0 : null));
    }

    public async IAsyncEnumerable<string> FollowHostActionAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        EnsureReachable();
        var run = _hostAction ?? throw new SparkCommandException(Name, "no host action has run on this Spark", 3, string.Empty);
        var next = 0;
        while (true)
        {
            string[] lines;
            Task grew;
            lock (run)
            {
                lines = [.. run.Lines.Skip(next)];
                grew = run.Grew.Task;
            }

            foreach (var line in lines)
            {
                yield return line;
            }

            next += lines.Length;
            if (run.Ended.Task.IsCompleted && next == run.Lines.Count)
            {
                yield break;
            }

            await Task.WhenAny(grew, run.Ended.Task).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static string[] HostActionLines(HostAction action) => action switch
    {
        HostAction.AptUpdate =>
        [
            "Hit:1 http://ports.ubuntu.com/ubuntu-ports noble InRelease",
            "Get:2 https://repo.download.nvidia.com/baseos/ubuntu/noble/arm64 noble InRelease [7,585 B]",
            "Fetched 7,585 B in 1s (9,102 B/s)",
            "Reading package lists... Done",
            "(simulated: nothing was changed)",
        ],
        HostAction.AptUpgrade =>
        [
            "Reading package lists... Done",
            "Building dependency tree... Done",
            "Calculating upgrade... Done",
            "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.",
            "(simulated: nothing was changed)",
        ],
        HostAction.AptFullUpgrade => SimUpdates.FullUpgradeLines,
        HostAction.FirmwareUpdate => SimUpdates.FirmwareUpdateLines,
        _ => ["Broadcast message from root: The system will reboot now! (simulated)"],
    };

    public Task<HostCheckOutput> RunHostCheckAsync(HostCheck check, CancellationToken cancellationToken)
    {
        EnsureReachable();
        return Task.FromResult(SimUpdates.Check(check));
    }

    public Task<HostFacts> GetHostFactsAsync(CancellationToken cancellationToken)
    {
        EnsureReachable();
        return Task.FromResult(new HostFacts(_settings.Name, "DGX OS 7 (simulated)", "6.11.0-1016-nvidia (simulated)", "aarch64", _time.GetUtcNow() - _startedAt, "28.3.3 (simulated)", "580.95.05 (simulated)", "13.0 (simulated)", "NVIDIA GB10 (simulated)"));
    }

    public Uri GetEndpoint(int port) => new($"http://127.0.0.1:{MapPort(port)}/");

    private long Reservation(SimContainer container) =>
        container.ModelServer is { } server
            ? (long)(server.Options.GpuMemoryUtilization * _settings.MemTotalBytes)
            : container.Status == ContainerStatus.Running ? _settings.ServiceContainerBytes : 0;

    private void Start(SimContainer container)
    {
        var spec = container.Spec;
        var args = spec.Entrypoint is { } entrypoint ? [entrypoint, .. spec.Command] : spec.Command.ToList();
        Func<CancellationToken, Task<int>> process;
        SimModelServer? server = null;
        if (args.Count > 0 && Path.GetFileName(args[0]) == "vllm")
        {
            var (options, error) = VllmCli.Parse(args.Skip(1).ToList());
            if (options is null)
            {
                process = _ =>
                {
                    foreach (var line in error!.Message.Split('\n'))
                    {
                        container.Log.Append(line);
                    }

                    return Task.FromResult(error.ExitCode);
                };
            }
            else
            {
                var behaviour = BehaviourFor(options, spec);
                var bind = new IPEndPoint(IPAddress.Loopback, MapPort(options.Port));
                server = new SimModelServer(options, behaviour, _time, container.Log.Append, bind, readFile: Disk.ReadFile);
                container.OomOnExit137 = true;
                process = server.RunAsync;
            }
        }
        else if (spec.Environment.ContainsKey(NimEnvironment.ServedModelName))
        {
            (process, server) = StartNim(container);
        }
        else if (spec.Labels.TryGetValue(ContainerLabels.Port, out var p) && int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out var port)
            && SimServiceProfile.ForImage(spec.Image, port, ServiceContext(spec)) is { } profile)
        {
            var grpc = profile.GrpcPort is { } grpcPort ? new IPEndPoint(IPAddress.Loopback, MapPort(grpcPort)) : null;
            var service = new SimServiceServer(profile, TimeSpan.FromSeconds(1), _time, container.Log.Append, new IPEndPoint(IPAddress.Loopback, MapPort(port)), grpc);
            process = service.RunAsync;
        }
        else
        {
            process = async stop =>
            {
                container.Log.Append($"{spec.Image} started");
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, _time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }

                return 0;
            };
        }

        container.Start(process, server, Interlocked.Increment(ref _nextPid), OnExited);
    }

    /// <summary>
    /// A NIM container: configured by its environment, the key from the env file it was started with (only its names
    /// are known here). It takes its memory limit's share of the pool, or NIM's usual third without one.
    /// </summary>
    private (Func<CancellationToken, Task<int>> Process, SimModelServer? Server) StartNim(SimContainer container)
    {
        var spec = container.Spec;
        var fromFile = spec.EnvFile is not null ? SecretsEnvFile ?? [] : [];
        string? Environment(string name) => spec.Environment.GetValueOrDefault(name) ?? (fromFile.Contains(name) ? "(from the env file)" : null);
        var share = spec.MemoryLimitBytes is { } limit ? Math.Min(1, limit / (double)_settings.MemTotalBytes) : 0.3;
        var (options, error) = NimEnvironment.Parse(Environment, share);
        if (options is null)
        {
            return (_ =>
            {
                container.Log.Append(error!.Message);
                return Task.FromResult(error.ExitCode);
            }, null);
        }

        // A NIM downloads its model profile into the cache mounted at /opt/nim/.cache on its first start.
        if (spec.Mounts.FirstOrDefault(m => m.ContainerPath == "/opt/nim/.cache") is { } cache && !Disk.DirectoryExists(cache.HostPath))
        {
            Disk.AddDirectory(cache.HostPath, 5L << 30, "ngc", "local_cache");
        }

        var server = new SimModelServer(options, BehaviourFor(options, spec), _time, container.Log.Append, new IPEndPoint(IPAddress.Loopback, MapPort(options.Port)), nim: true);
        container.OomOnExit137 = true;
        return (server.RunAsync, server);
    }

    /// <summary>The storage of the Qdrant that runs (or ran) in <paramref name="container"/>; null before it first started.</summary>
    public SimQdrantStore? QdrantStore(string container) => _qdrantStores.GetValueOrDefault(container);

    /// <summary>What a service container's profile needs; a Qdrant's storage is kept by container name, as a volume keeps it.</summary>
    private SimServiceContext ServiceContext(ContainerLaunchSpec spec) => new(
        _time,
        _settings.AsrTranscriber,
        () => _qdrantStores.GetOrAdd(spec.Name, name => new SimQdrantStore(Path.Combine(_scratch, "qdrant", name), _time)),
        name => spec.Environment.GetValueOrDefault(name));

    private void OnExited(SimContainer container)
    {
        if (container.Spec.RemoveOnExit && !container.StopRequested)
        {
            _containers.TryRemove(container.Name, out _);
        }
    }

    private SimBehaviour BehaviourFor(VllmServeOptions options, ContainerLaunchSpec spec)
    {
        // Load time follows the model's size: the catalog's figure, else what the simulated disk holds for it.
        var onDisk = options.Model.StartsWith('/') ? Disk.Usage(options.Model) : Disk.Usage($"/home/demo/.cache/huggingface/hub/models--{options.Model.Replace("/", "--", StringComparison.Ordinal)}");
        var sizeGiB = _settings.ModelSizesGiB.TryGetValue(options.Model, out var known) ? known : onDisk is { } bytes ? bytes / (double)(1L << 30) : 4;
        var behaviour = new SimBehaviour
        {
            LoadTime = _settings.FixedLoadTime ?? TimeSpan.FromSeconds(sizeGiB * _settings.LoadSecondsPerGiB),
            TokensPerSecond = _settings.TokensPerSecond,
            ChatScript = _settings.ChatScript,
        };
        behaviour = SimBehaviour.FromEnvironment(name => spec.Environment.GetValueOrDefault(name), behaviour);
        if (_scheduledLoadTimes.TryDequeue(out var loadTime))
        {
            behaviour = behaviour with { LoadTime = loadTime };
        }

        if (_scheduledHolds.TryDequeue(out var hold))
        {
            behaviour = behaviour with { LoadHold = hold };
        }

        return _scheduledFailures.TryDequeue(out var failure) ? behaviour with { Failure = failure } : behaviour;
    }

    /// <summary>The loopback port this host's container port maps to: held for the host's life (see <see cref="LoopbackPort"/>).</summary>
    private int MapPort(int port)
    {
        if (_ports.TryGetValue(port, out var held))
        {
            return held.Number;
        }

        var reserved = LoopbackPort.Reserve();
        var kept = _ports.GetOrAdd(port, reserved);
        if (!ReferenceEquals(kept, reserved))
        {
            reserved.Dispose();
        }

        return kept.Number;
    }

    private SimContainer? Find(string nameOrId) =>
        _containers.TryGetValue(nameOrId, out var byName)
            ? byName
            : _containers.Values.FirstOrDefault(c => c.Id.StartsWith(nameOrId, StringComparison.Ordinal) && nameOrId.Length >= 12);

    private SparkCommandException NoSuchContainer(string container) =>
        new(Name, $"Error response from daemon: No such container: {container}", 1, string.Empty);

    private void EnsureReachable()
    {
        if (!Reachable)
        {
            throw new SparkUnreachableException(Name, $"{Name} is unreachable (simulated: connection timed out)");
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var container in _containers.Values)
        {
            await container.StopAsync(TimeSpan.FromSeconds(5), _time).ConfigureAwait(false);
        }

        foreach (var port in _ports.Values)
        {
            port.Dispose();
        }

        if (Directory.Exists(_scratch))
        {
            Directory.Delete(_scratch, recursive: true);
        }
    }
}
