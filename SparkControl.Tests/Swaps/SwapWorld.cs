using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using SparkControl.Core.Catalog;
using SparkControl.Core.Configuration;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Secrets;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Core.Swaps;
using SparkControl.Sim.Hosting;
using SparkControl.Tests.Core;
using SparkControl.Tests.Infrastructure;
using SparkControl.Core.Hosts;
using SparkControl.Core.Launch;

namespace SparkControl.Tests.Swaps;

/// <summary>A drain gate that records what it was asked, and can hold the drain until the test lets it go.</summary>
public sealed class RecordingDrainGate : IDrainGate
{
    public ConcurrentQueue<string> Calls { get; } = new();
    public TaskCompletionSource? Hold { get; set; }
    public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task<DrainResult> DrainAsync(IReadOnlyCollection<string> sparks, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"drain {string.Join(",", sparks)}");
        Reached.TrySetResult();
        if (Hold is { } hold)
        {
            await hold.Task.WaitAsync(cancellationToken);
        }

        return new DrainResult(2, 0);
    }

    public void Release(IReadOnlyCollection<string> sparks) => Calls.Enqueue($"release {string.Join(",", sparks)}");
}

/// <summary>
/// An orchestrator over simulated Sparks with the real catalog, planner, history (SQLite in a temp directory),
/// health monitor and metrics: what the app wires, minus the web.
/// </summary>
public sealed class SwapWorld : IAsyncDisposable
{
    public const long GiB = 1L << 30;

    private readonly List<SimulatedSparkHost> _sims = [];

    private SwapWorld(TempDirectory data)
    {
        Data = data;
        Store = TestStores.Open(data.Path);
        History = new SwapHistory(Store);
        Metrics = new SparkControlMetrics(Meters);
        Fleet = new SparkFleet(TimeProvider.System);
        Catalog = new ModelCatalog(TimeProvider.System);
        Catalog.Publish(new CatalogSnapshot([.. Models], []));
    }

    public TempDirectory Data { get; }
    public SparkControlStore Store { get; }
    public SwapHistory History { get; }
    public TestMeterFactory Meters { get; } = new();
    public SparkControlMetrics Metrics { get; }
    public SparkFleet Fleet { get; }

    /// <summary>What runs on each Spark, as the settings store sees it.</summary>
    public SparkWork Work { get; } = new();
    public ModelCatalog Catalog { get; }
    public RecordingDrainGate Drain { get; } = new();
    public SparkControlOptions Options { get; } = new() { Swap = new SwapOptions { ProbeInterval = TimeSpan.FromMilliseconds(20) } };
    public HealthMonitor Health { get; private set; } = null!;
    public SwapOrchestrator Swaps { get; private set; } = null!;
    public Dictionary<string, GatedSparkHost> Hosts { get; } = [];

    public GatedSparkHost Host => Hosts["spark-1"];

    public SimulatedSparkHost Sim => (SimulatedSparkHost)Host.Inner;

    public static ModelDefinition Model(string id, double gpu = 0.3, double size = 1, string? repo = null, ModelPlacement placement = ModelPlacement.Single) => new()
    {
        Id = id,
        DisplayName = id,
        Source = new HuggingFaceSource(repo ?? $"org/{id}"),
        ServedName = id,
        Flags = new VllmFlags { GpuMemoryUtilization = gpu },
        DownloadSizeGiB = size,
        Placement = placement,
        Runtime = placement == ModelPlacement.Cluster ? ModelRuntime.LaunchCluster : ModelRuntime.Vllm,
    };

    /// <summary>Two small models on disk, one not downloaded, one larger than the disk, one larger than memory.</summary>
    public static IReadOnlyList<ModelDefinition> Models { get; } =
    [
        Model("small-a"),
        Model("small-b"),
        Model("fresh", size: 0.5),
        Model("huge", size: 5000),
        Model("greedy", gpu: 0.94),
    ];

    public static async Task<SwapWorld> CreateAsync(
        Action<SwapWorld>? configure = null,
        SimSparkSettings? sim = null,
        Func<HttpMessageHandler, HttpMessageHandler>? http = null,
        IEnumerable<ServiceDefinition>? services = null,
        TempDirectory? data = null,
        IReadOnlyDictionary<string, SimulatedSparkHost>? reuse = null)
    {
        var world = new SwapWorld(data ?? new TempDirectory("sc-swap"));
        configure?.Invoke(world);
        var settings = sim ?? new SimSparkSettings { Name = "spark-1", FixedLoadTime = TimeSpan.FromMilliseconds(300), GpuSampleInterval = TimeSpan.FromMilliseconds(100), DownloadBytesPerSecond = 2L << 30 };
        var definition = new SparkDefinition { Name = settings.Name, Host = "127.0.0.1", User = "demo", HfCachePath = "/home/demo/.cache/huggingface", Gpus = "all" };
        var simHost = reuse?.GetValueOrDefault(settings.Name) ?? world.AddSim(settings);
        foreach (var model in Models.Where(m => m.Id is "small-a" or "small-b" or "greedy"))
        {
            simHost.Disk.AddDirectory($"{definition.HfCachePath}/hub/{((HuggingFaceSource)model.Source).CacheFolder}", (long)(model.DownloadSizeGiB!.Value * GiB), "config.json", "model.safetensors");
        }

        world.Hosts[settings.Name] = new GatedSparkHost(simHost);
        world.Fleet.Publish(new FleetConfiguration([new SparkEntry(definition, world.Hosts[settings.Name], true)], [.. services ?? []], false));
        world.Build(http);
        return await Task.FromResult(world);
    }

    /// <summary>A second Spark, and launch-cluster.sh settings on the first, for cluster models.</summary>
    public void AddWorker()
    {
        var worker = AddSim(new SimSparkSettings { Name = "spark-2", FixedLoadTime = TimeSpan.FromMilliseconds(300) });
        Hosts["spark-2"] = new GatedSparkHost(worker);
        var head = Fleet.Current.Sparks[0];
        var cluster = head with { Definition = head.Definition with { LaunchCluster = new LaunchClusterSettings { Script = "/opt/launch-cluster.sh", Nodes = ["10.0.0.1", "10.0.0.2"], ContainerName = "vllm_node" } } };
        Fleet.Publish(Fleet.Current with
        {
            Sparks = [cluster, new SparkEntry(new SparkDefinition { Name = "spark-2", Host = "127.0.0.2", User = "demo", HfCachePath = "/home/demo/.cache/huggingface" }, Hosts["spark-2"], true)],
        });
    }

    private SimulatedSparkHost AddSim(SimSparkSettings settings)
    {
        var sim = new SimulatedSparkHost(settings, TimeProvider.System);
        _sims.Add(sim);
        return sim;
    }

    private void Build(Func<HttpMessageHandler, HttpMessageHandler>? http)
    {
        var options = new StaticOptionsMonitor<SparkControlOptions>(Options);
        var handler = http?.Invoke(new SocketsHttpHandler()) ?? new SocketsHttpHandler();
        var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        Health = new HealthMonitor(Fleet, new HealthProbe(client, TimeProvider.System), new ServiceStatusLog(Store), Metrics,
            new SparkControl.Core.Remote.ConnectivityTracker(TimeProvider.System), TimeProvider.System, options, NullLogger<HealthMonitor>.Instance);
        var planner = new LaunchPlanner(new SecretStore(new DataDirectory(Data.Path), TimeProvider.System));
        Swaps = new SwapOrchestrator(Fleet, Catalog, planner, Health, History, Drain, Metrics, client, TimeProvider.System, options, NullLogger<SwapOrchestrator>.Instance, Work);
    }

    /// <summary>Starts a swap and waits for it to end.</summary>
    public async Task<SwapStatus> SwapAsync(string? model, string target = "spark-1", params string[] stopServices)
    {
        var started = Swaps.Start(new SwapRequest(model, target, "test") { StopServices = [.. stopServices] });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await Swaps.WaitAsync(started.Id, timeout.Token);
    }

    /// <summary>Waits until the swap reaches <paramref name="phase"/> (or ends).</summary>
    public async Task<SwapStatus> WaitForPhaseAsync(string id, SwapPhase phase)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var board in Swaps.WatchAsync(timeout.Token))
        {
            if (board.Value.Find(id) is { } swap && (swap.Phase == phase || !swap.IsActive))
            {
                return swap;
            }
        }

        throw new TimeoutException();
    }

    /// <summary>The model containers that exist on the simulated Spark, running or not.</summary>
    public async Task<IReadOnlyList<SparkControl.Core.Hosts.ContainerSummary>> ModelContainersAsync(string spark = "spark-1") =>
        [.. (await Hosts[spark].ListContainersAsync(CancellationToken.None)).Where(c => c.Labels.ContainsKey(SparkControl.Core.Hosts.ContainerLabels.Model) || c.Name == "vllm_node")];

    /// <summary>Stops the orchestrator as the app's shutdown does, leaving the Sparks as they are.</summary>
    public async Task StopOrchestratorAsync() => await Swaps.DisposeAsync();

    public IReadOnlyDictionary<string, SimulatedSparkHost> Sims => _sims.ToDictionary(s => s.Name);

    /// <summary>A new orchestrator on the same data directory and the same (still running) Sparks: an app restart.</summary>
    public async Task<SwapWorld> RestartAsync()
    {
        await StopOrchestratorAsync();
        // The Sparks and the data directory stay this world's: it disposes them after the restarted one.
        var next = await CreateAsync(data: Data, reuse: Sims);
        next._ownsData = false;
        return next;
    }

    private bool _ownsData = true;

    public async ValueTask DisposeAsync()
    {
        await Swaps.DisposeAsync();
        foreach (var sim in _sims)
        {
            await sim.DisposeAsync();
        }

        Meters.Dispose();
        if (_ownsData)
        {
            Data.Dispose();
        }
    }
}
