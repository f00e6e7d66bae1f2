using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SparkControl.Core.Configuration;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Gpu;
using SparkControl.Core.Hosts;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Core.Streams;
using SparkControl.Sim.Hosting;

namespace SparkControl.Benchmarks;

/// <summary>
/// GPU-busy tracker throughput, one thread (one core): a simulated day of one-second samples of one Spark.
/// <c>Accumulate</c> is the ledger arithmetic alone (interval, state split, minute buckets); <c>Record</c> is what the
/// tracker does per sample (lock, accumulator, busy window, metrics, a new live snapshot for watchers). Samples per
/// second = 1e9 / the reported ns per operation. Run with
/// <c>dotnet run -c Release --project SparkControl.Benchmarks -- --filter '*GpuLedger*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
public class GpuLedgerBenchmarks
{
    private const int SamplesPerDay = 86_400;
    private static readonly ModelActivity Loaded = ModelActivity.Loaded("qwen3-8b");
    private readonly DateTimeOffset _start = DateTimeOffset.UtcNow.AddHours(1);
    private GpuSample[] _samples = [];
    private string _data = string.Empty;
    private SimulatedSparkHost? _host;
    private GpuBusyTracker? _tracker;

    [GlobalSetup]
    public void Setup()
    {
        // Utilization from the captured duty-cycle timeline's shape: idle, ramps and full load.
        double[] pattern = [0, 0, 2, 19, 88, 100, 100, 100, 64, 44, 0, 0, 0, 100, 100, 99, 0, 0, 0, 0];
        _samples = [.. Enumerable.Range(0, SamplesPerDay).Select(i => new GpuSample(_start.AddSeconds(i), 0, pattern[i % pattern.Length], null, null, 40 + pattern[i % pattern.Length], 50))];
    }

    [Benchmark(OperationsPerInvoke = SamplesPerDay)]
    public int Accumulate()
    {
        var ledger = new GpuLedgerAccumulator(TimeSpan.FromSeconds(5));
        foreach (var sample in _samples)
        {
            ledger.Add("spark-1", sample, Loaded);
        }

        return ledger.Pending.Count;
    }

    [IterationSetup(Target = nameof(Record))]
    public void StartTracker()
    {
        _data = Directory.CreateTempSubdirectory("sc-bench-").FullName;
        var time = TimeProvider.System;
        // A simulated Spark whose own stream stays quiet (one sample a day), so the benchmark's samples are all there is.
        _host = new SimulatedSparkHost(new SimSparkSettings { Name = "spark-1", GpuSampleInterval = TimeSpan.FromDays(1) }, time);
        var fleet = new SparkFleet(time);
        fleet.Publish(new FleetConfiguration([new SparkEntry(new SparkDefinition { Name = "spark-1", Host = "h", User = "u" }, _host, true)], [], false));
        var options = new SparkControlOptions { Gpu = new GpuOptions { FlushInterval = TimeSpan.FromDays(1), MemoryInterval = TimeSpan.FromDays(1) } };
        _tracker = new GpuBusyTracker(
            fleet,
            new FixedActivity(Loaded),
            new GpuLedgerStore(new SparkControlStore(new DataDirectory(_data), SparkControl.Web.Hosting.DatabaseSchema.Create(), new SparkControl.Core.Storage.StorageHealth(TimeProvider.System, NullLogger<SparkControl.Core.Storage.StorageHealth>.Instance), NullLogger<SparkControlStore>.Instance)),
            new SparkControlMetrics(new BenchmarkMeterFactory()),
            time,
            new FixedOptions(options),
            NullLogger<GpuBusyTracker>.Instance);
        _tracker.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        using var ready = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        WaitForSparkAsync(_tracker, ready.Token).GetAwaiter().GetResult();
    }

    /// <summary>The tracker has picked up the Spark's stream: its state lists it.</summary>
    private static async Task WaitForSparkAsync(GpuBusyTracker tracker, CancellationToken cancellationToken)
    {
        await foreach (var state in tracker.WatchAsync(cancellationToken))
        {
            if (state.Value.Find("spark-1") is not null)
            {
                return;
            }
        }
    }

    [Benchmark(OperationsPerInvoke = SamplesPerDay)]
    public int Record()
    {
        var counted = 0;
        foreach (var sample in _samples)
        {
            counted += _tracker!.Record("spark-1", sample).Outcome == SampleOutcome.Counted ? 1 : 0;
        }

        return counted;
    }

    [IterationCleanup(Target = nameof(Record))]
    public void StopTracker()
    {
        _tracker!.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
        _host!.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_data, recursive: true);
    }

    private sealed class FixedActivity(ModelActivity activity) : IModelActivitySource
    {
        private readonly SnapshotStream<FleetModelActivity> _stream = new(new FleetModelActivity(FleetModelActivity.Empty.Sparks.SetItem("spark-1", activity)));

        public Versioned<FleetModelActivity> Current => _stream.Current;

        public IAsyncEnumerable<Versioned<FleetModelActivity>> WatchAsync(CancellationToken cancellationToken) => _stream.WatchAsync(cancellationToken);
    }

    private sealed class FixedOptions(SparkControlOptions value) : IOptionsMonitor<SparkControlOptions>
    {
        public SparkControlOptions CurrentValue => value;

        public SparkControlOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<SparkControlOptions, string?> listener) => null;
    }
}

/// <summary>Meters for benchmarks, as the host's factory would make them.</summary>
public sealed class BenchmarkMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
        _meters.Add(meter);
        return meter;
    }

    public void Dispose() => _meters.ForEach(m => m.Dispose());
}
