using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using SparkControl.Core.Catalog;
using SparkControl.Core.Configuration;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Hosts;
using SparkControl.Core.Secrets;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Core.Swaps;
using SparkControl.Sim.Hosting;
using SparkControl.Tests.Core;
using SparkControl.Tests.Infrastructure;
using SparkControl.Core.Launch;

namespace SparkControl.Benchmarks;

/// <summary>
/// The swap orchestrator's own cost, with the simulator's load time set to zero: how long after the model server
/// starts listening, and after it first answers <c>/health</c>, Ready is published; the whole swap, and each phase's
/// share of it. <c>swap-overhead [in-process|docker] [swaps]</c>; the
/// docker mode starts a private sshd and dockerd like the integration tests (root, Debian's openssh-server and docker.io).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static class SwapOverhead
{
    public static async Task<int> RunAsync(string[] args)
    {
        var mode = args.Length > 1 ? args[1] : "in-process";
        var swaps = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 50;
        var results = mode == "docker" ? await DockerAsync(swaps) : await InProcessAsync(swaps);
        Report(mode, results);
        return 0;
    }

    /// <summary>
    /// One swap's figures. With no load time the server can listen before <c>docker run</c> has even returned over SSH:
    /// <see cref="ObservableToReady"/> starts at whichever came later, the listening or the launch command's return.
    /// </summary>
    private sealed record Sample(TimeSpan ListenToReady, TimeSpan ObservableToReady, TimeSpan HealthToReady, TimeSpan Whole, IReadOnlyList<(SwapPhase Phase, TimeSpan Took)> Phases);

    private static Sample Measure(SwapStatus ended, DateTimeOffset listening, DateTimeOffset firstHealth)
    {
        var ready = ended.EndedAt!.Value;
        var launched = ended.Phases.First(p => p.Phase == SwapPhase.Loading).StartedAt;
        var phases = ended.Phases.Select((p, i) => (p.Phase, (i + 1 < ended.Phases.Count ? ended.Phases[i + 1].StartedAt : ready) - p.StartedAt))
            .Where(p => p.Phase != SwapPhase.Ready).ToList();
        return new Sample(ready - listening, ready - (launched > listening ? launched : listening), ready - firstHealth, ready - ended.RequestedAt, phases);
    }

    private static async Task<List<Sample>> InProcessAsync(int count)
    {
        await using var sim = new SimulatedSparkHost(new SimSparkSettings { Name = "bench", FixedLoadTime = TimeSpan.Zero }, TimeProvider.System);
        var models = new[] { "bench-a", "bench-b" };
        foreach (var id in models)
        {
            sim.Disk.AddDirectory($"/home/demo/.cache/huggingface/hub/models--org--{id}", 1L << 30, "config.json");
        }

        var spark = new SparkDefinition { Name = "bench", Host = "127.0.0.1", User = "demo", Gpus = "all" };
        using var world = new World(spark, sim, [.. models.Select(id => Model(id, new HuggingFaceSource($"org/{id}"), 8000))]);
        var samples = new List<Sample>();
        for (var i = 0; i < count + 2; i++)
        {
            var ended = await world.SwapAsync(models[i % 2]);
            var server = sim.ModelServers[LaunchSpecs.ModelContainerName];
            if (i >= 2)
            {
                // The first two warm up the JIT, the HTTP client and the store.
                samples.Add(Measure(ended, server.ListeningAt!.Value, server.FirstHealthAt!.Value));
            }
        }

        return samples;
    }

    private static async Task<List<Sample>> DockerAsync(int count)
    {
        var docker = new DockerdFixture();
        await docker.InitializeAsync();
        var sshd = new SshdFixture();
        await sshd.InitializeAsync();
        using var bin = new SparkBin(docker);
        bin.SetDockerRunEnvironment(("SPARKCONTROL_SIM_LOAD_SECONDS", "0"));
        using var tree = new TempDirectory("sc-bench");
        var port = Tools.FreePort();
        var models = new List<ModelDefinition>();
        foreach (var id in new[] { "bench-a", "bench-b" })
        {
            var path = tree.File(id);
            Directory.CreateDirectory(path);
            await File.WriteAllTextAsync(Path.Combine(path, "config.json"), "{\"model_type\":\"qwen3\"}");
            models.Add(Model(id, new LocalSource("spark-t", path), port) with { Flags = new VllmFlags { GpuMemoryUtilization = 0.05 } });
        }

        try
        {
            await using var ssh = new SshTestSpark(sshd, pathPrefix: [bin.Path]);
            var definition = ssh.Definition with { VllmImage = DockerdFixture.BaseImage, ExtraMounts = [.. DockerdFixture.HostRuntimeMounts], ModelRoots = [tree.Path], HfCachePath = tree.File("hf") };
            var host = ssh.CreateHost(definition);
            using var world = new World(definition, host, models);
            var samples = new List<Sample>();
            for (var i = 0; i < count + 2; i++)
            {
                var ended = await world.SwapAsync(models[i % 2].Id);
                if (ended.Phase != SwapPhase.Ready)
                {
                    throw new InvalidOperationException($"swap {i} ended {ended.Phase}: {ended.Message}");
                }

                // The simulator prints the moment it listens; the container shares this machine's clock.
                var logs = await host.GetLogsAsync(LaunchSpecs.ModelContainerName, LogQuery.Last(200), CancellationToken.None);
                DateTimeOffset Logged(string prefix) =>
                    DateTimeOffset.Parse(logs.Last(l => l.StartsWith(prefix, StringComparison.Ordinal))[prefix.Length..], CultureInfo.InvariantCulture);
                if (i >= 2)
                {
                    samples.Add(Measure(ended, Logged("SIM listening "), Logged("SIM first health ")));
                }
            }

            await docker.DockerAsync(["rm", "-f", LaunchSpecs.ModelContainerName], check: false);
            return samples;
        }
        finally
        {
            await sshd.DisposeAsync();
            await docker.DisposeAsync();
        }
    }

    private static ModelDefinition Model(string id, ModelSource source, int port) => new()
    {
        Id = id,
        DisplayName = id,
        Source = source,
        ServedName = id,
        Port = port,
        Flags = new VllmFlags { GpuMemoryUtilization = 0.3 },
    };

    private static void Report(string mode, List<Sample> samples)
    {
        static double Percentile(IEnumerable<TimeSpan> values, double p) => Stats.Percentile(values.Select(v => v.TotalMilliseconds), p * 100);
        static double Median(IEnumerable<TimeSpan> values) => Stats.Median(values.Select(v => v.TotalMilliseconds));

        Console.WriteLine($"swap overhead, {mode}, {samples.Count} swaps (load time 0), {Environment.ProcessorCount} cores");
        Console.WriteLine("| measure | median (ms) | p95 (ms) |");
        Console.WriteLine("| --- | --- | --- |");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| listening -> Ready published | {Median(samples.Select(s => s.ListenToReady)):0.0} | {Percentile(samples.Select(s => s.ListenToReady), 0.95):0.0} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| later of listening and launch returned -> Ready | {Median(samples.Select(s => s.ObservableToReady)):0.0} | {Percentile(samples.Select(s => s.ObservableToReady), 0.95):0.0} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| first successful /health -> Ready | {Median(samples.Select(s => s.HealthToReady)):0.0} | {Percentile(samples.Select(s => s.HealthToReady), 0.95):0.0} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| whole swap | {Median(samples.Select(s => s.Whole)):0.0} | {Percentile(samples.Select(s => s.Whole), 0.95):0.0} |"));
        foreach (var phase in samples.SelectMany(s => s.Phases.Select(p => p.Phase)).Distinct())
        {
            var took = samples.Select(s => s.Phases.Where(p => p.Phase == phase).Aggregate(TimeSpan.Zero, (sum, p) => sum + p.Took)).ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| phase {phase} | {Median(took):0.0} | {Percentile(took, 0.95):0.0} |"));
        }

        var healthToReady = Median(samples.Select(s => s.HealthToReady));
        var whole = Median(samples.Select(s => s.Whole));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Verdict.Of(whole <= 1000)} swap overhead median {whole:0} ms <= 1000 ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Verdict.Of(healthToReady <= 100)} Ready {healthToReady:0} ms after the first successful /health <= 100 ms (median)"));
    }

    /// <summary>The orchestrator as the app wires it, over one Spark, with its own data directory.</summary>
    private sealed class World : IDisposable
    {
        private readonly TempDirectory _data = new("sc-bench-data");
        private readonly TestMeterFactory _meters = new();
        private readonly string _spark;

        public World(SparkDefinition spark, ISparkHost host, IReadOnlyList<ModelDefinition> models)
        {
            _spark = spark.Name;
            var time = TimeProvider.System;
            var fleet = new SparkFleet(time);
            fleet.Publish(new FleetConfiguration([new SparkEntry(spark, host, host is SimulatedSparkHost)], [], false));
            var catalog = new ModelCatalog(time);
            catalog.Publish(new CatalogSnapshot([.. models], []));
            var data = new DataDirectory(_data.Path);
            var store = SparkControl.Tests.Infrastructure.TestStores.Open(data);
            var options = new StaticOptionsMonitor<SparkControlOptions>(new SparkControlOptions());
            var metrics = new SparkControlMetrics(_meters);
            var http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(5) }) { Timeout = Timeout.InfiniteTimeSpan };
            var health = new HealthMonitor(fleet, new HealthProbe(http, time), new ServiceStatusLog(store), metrics, new SparkControl.Core.Remote.ConnectivityTracker(time), time, options, NullLogger<HealthMonitor>.Instance);
            Swaps = new SwapOrchestrator(fleet, catalog, new LaunchPlanner(new SecretStore(data, time)), health, new SwapHistory(store), new NoDrainGate(), metrics, http, time, options, NullLogger<SwapOrchestrator>.Instance);
        }

        public SwapOrchestrator Swaps { get; }

        public async Task<SwapStatus> SwapAsync(string model)
        {
            var started = Swaps.Start(new SwapRequest(model, _spark, "benchmark"));
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            return await Swaps.WaitAsync(started.Id, timeout.Token);
        }

        public void Dispose()
        {
            Swaps.DisposeAsync().AsTask().GetAwaiter().GetResult();
            _meters.Dispose();
            _data.Dispose();
        }
    }
}
