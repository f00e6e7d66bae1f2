using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SparkControl.Core.Configuration;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Gpu;
using SparkControl.Core.Hosts;
using SparkControl.Core.Sparks;
using SparkControl.Tests.Infrastructure;
using SparkControl.Core.Remote;

namespace SparkControl.Tests.Core;

/// <summary>The tracker over a fake host's sample channel, a fake clock and a real SQLite file.</summary>
public sealed class GpuBusyTrackerTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);
    private readonly TempDirectory _data = new();
    private readonly FakeSparkHost _host = new("spark-1");
    private readonly SparkFleet _fleet;
    private readonly FakeModelActivitySource _activity;
    private readonly TestMeterFactory _meters = new();
    private readonly SparkControlMetrics _metrics;
    private readonly SparkControlOptions _options = new()
    {
        Gpu = new GpuOptions { GapThreshold = TimeSpan.FromSeconds(5), ReconnectDelay = TimeSpan.FromSeconds(5), FlushInterval = TimeSpan.FromMinutes(10) },
    };

    public GpuBusyTrackerTests()
    {
        _fleet = new SparkFleet(_time);
        _fleet.Publish(new FleetConfiguration([new SparkEntry(new SparkDefinition { Name = "spark-1", Host = "h", User = "u" }, _host, false)], [], false));
        _activity = new FakeModelActivitySource(_time);
        _activity.Set("spark-1", ModelActivity.Loaded("qwen3-8b"));
        _metrics = new SparkControlMetrics(_meters);
    }

    private GpuBusyTracker CreateTracker() => new(
        _fleet,
        _activity,
        new GpuLedgerStore(TestStores.Open(_data.Path)),
        _metrics,
        _time,
        new StaticOptionsMonitor<SparkControlOptions>(_options),
        NullLogger<GpuBusyTracker>.Instance);

    private static GpuSample At(int second, double utilization) => new(Start.AddSeconds(second), 0, utilization);

    private async Task SendAsync(GpuBusyTracker tracker, IEnumerable<int> seconds, double utilization)
    {
        var last = 0;
        foreach (var second in seconds)
        {
            await _host.Gpu.Writer.WriteAsync(At(second, utilization));
            last = second;
        }

        await Wait.UntilAsync(() => tracker.Current.Value.Find("spark-1")?.Latest?.Timestamp == Start.AddSeconds(last), $"sample {last} is counted");
    }

    [Fact]
    public async Task Tracker_StreamDropsAndRepeatsItself_CountsEachPeriodOnce()
    {
        using var samples = new MetricCollector<long>(_meters, SparkControlMetrics.MeterName, "sparkcontrol.gpu.samples");
        using var restarts = new MetricCollector<long>(_meters, SparkControlMetrics.MeterName, "sparkcontrol.gpu.stream.restarts");
        var tracker = CreateTracker();
        await tracker.StartAsync(CancellationToken.None);
        await SendAsync(tracker, Enumerable.Range(0, 10), 100);

        _host.BreakGpuStream(new SparkUnreachableException("spark-1", "connection reset"));
        await Wait.UntilAsync(() => tracker.Current.Value.Find("spark-1")!.Status == GpuStreamStatus.Interrupted, "the stream is seen interrupted");
        _time.Advance(_options.Gpu.ReconnectDelay);
        await Wait.UntilAsync(() => _host.GpuWatches == 2, "the stream is opened again");
        // The new stream starts five samples back, as a replaying stand-in would.
        await SendAsync(tracker, Enumerable.Range(5, 10), 100);

        var total = tracker.Read(null, null, LedgerGrouping.Spark).TotalOf("spark-1");
        Assert.Equal(14, total.Busy, 9);
        Assert.Equal(14, total.Total, 9);
        Assert.Equal(5, samples.GetMeasurementSnapshot().Where(m => Equals(m.Tags["outcome"], "repeated")).Sum(m => m.Value));
        Assert.Equal(1, restarts.GetMeasurementSnapshot().Sum(m => m.Value));
        await tracker.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Tracker_Restarted_KeepsTheLedgerAndIgnoresWhatWasCounted()
    {
        var first = CreateTracker();
        await first.StartAsync(CancellationToken.None);
        await SendAsync(first, Enumerable.Range(0, 11), 50);
        await first.StopAsync(CancellationToken.None);

        var second = CreateTracker();
        await second.StartAsync(CancellationToken.None);
        Assert.Equal(5, second.Read(null, null, LedgerGrouping.Spark).TotalOf("spark-1").Busy, 9);
        await SendAsync(second, Enumerable.Range(5, 16), 50);

        var byModel = second.Read(null, null, LedgerGrouping.Model);
        var row = Assert.Single(byModel.Rows);
        Assert.Equal("qwen3-8b", row.Model);
        // 0-10 s before the restart, 11-20 s after it; sample 11 starts the new count.
        Assert.Equal(new LedgerSeconds(9.5, 9.5, 0, 0, 0), row.Seconds);
        await second.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Read_BeforeAndAfterFlush_GivesTheSameLedger()
    {
        var tracker = CreateTracker();
        await tracker.StartAsync(CancellationToken.None);
        await SendAsync(tracker, Enumerable.Range(0, 90), 20);
        var versions = tracker.Current.Value.LedgerVersion;
        _time.Advance(TimeSpan.FromMinutes(2));

        var before = tracker.Read(null, null, LedgerGrouping.Hour);
        tracker.Flush();
        var after = tracker.Read(null, null, LedgerGrouping.Hour);

        // Stored sums may differ from in-memory ones in the last bits of a double, nowhere else.
        Assert.Equal(before.Rows.Select(Rounded), after.Rows.Select(Rounded));
        Assert.Equal(Start, after.From);
        Assert.Equal(89 * 0.2, Assert.Single(after.Rows).Seconds.Busy, 9);
        Assert.Equal(versions + 1, tracker.Current.Value.LedgerVersion);
        await tracker.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Tracker_ActivityChanges_AttributeIntervalsToTheModelOfTheMoment()
    {
        var tracker = CreateTracker();
        await tracker.StartAsync(CancellationToken.None);
        _activity.Set("spark-1", ModelActivity.Loading("llama-70b"));
        await SendAsync(tracker, Enumerable.Range(0, 5), 30);
        _activity.Set("spark-1", ModelActivity.Loaded("llama-70b"));
        await SendAsync(tracker, Enumerable.Range(5, 5), 100);
        _activity.Set("spark-1", ModelActivity.NoModel);
        await SendAsync(tracker, Enumerable.Range(10, 3), 0);

        var rows = tracker.Read(null, null, LedgerGrouping.Model).Rows;

        var llama = rows.Single(r => r.Model == "llama-70b").Seconds;
        var none = rows.Single(r => r.Model is null).Seconds;
        // Busy counts in every state: 4 s of loading at 30 % is 1.2 s busy and 2.8 s loading.
        Assert.Equal(6.2, llama.Busy, 9);
        Assert.Equal(2.8, llama.Loading, 9);
        Assert.Equal(0, llama.LoadedIdle);
        Assert.Equal(new LedgerSeconds(0, 0, 0, 3, 0), none);
        Assert.Equal(ModelActivityState.NoModel, tracker.Current.Value.Find("spark-1")!.Activity.State);
        await tracker.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Tracker_UnifiedMemoryAndGauges_ComeFromMeminfoAndTheLatestSample()
    {
        _host.Memory = new MemoryInfo(127_600_748L * 1024, 118_566_368L * 1024);
        using var utilization = new MetricCollector<double>(_meters, SparkControlMetrics.MeterName, "sparkcontrol.gpu.utilization");
        using var memory = new MetricCollector<double>(_meters, SparkControlMetrics.MeterName, "sparkcontrol.memory.used");
        var tracker = CreateTracker();
        await tracker.StartAsync(CancellationToken.None);
        await SendAsync(tracker, [0, 1], 87);
        await Wait.UntilAsync(() => tracker.Current.Value.Find("spark-1")!.Memory is not null, "memory is read");

        utilization.RecordObservableInstruments();
        memory.RecordObservableInstruments();

        Assert.Equal(87, utilization.LastMeasurement!.Value);
        Assert.Equal((127_600_748L - 118_566_368L) * 1024, memory.LastMeasurement!.Value);
        Assert.Equal(0.87, tracker.Current.Value.Find("spark-1")!.BusyRatio!.Value, 9);
        await tracker.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Tracker_TenthOfASecondSamples_CountsEachAndShowsOneASecond()
    {
        var tracker = CreateTracker();
        await tracker.StartAsync(CancellationToken.None);
        for (var tenth = 0; tenth <= 100; tenth++)
        {
            // Busy the first three tenths of every second.
            await _host.Gpu.Writer.WriteAsync(new GpuSample(Start.AddMilliseconds(tenth * 100), 0, tenth % 10 is >= 1 and <= 3 ? 100 : 0));
        }

        await Wait.UntilAsync(() => tracker.Current.Value.Find("spark-1")?.Latest?.Timestamp == Start.AddSeconds(10), "the tenth second is shown");

        var total = tracker.Read(null, null, LedgerGrouping.Spark).TotalOf("spark-1");
        Assert.Equal(3, total.Busy, 9);
        Assert.Equal(10, total.Total, 9);
        var recent = tracker.Current.Value.Find("spark-1")!.Recent;
        Assert.Equal(Enumerable.Range(0, 11).Select(s => Start.AddSeconds(s)), recent.Select(s => s.Timestamp));
        Assert.All(recent.Skip(1), s => Assert.Equal(30, s.UtilizationPercent!.Value, 9));
        await tracker.StopAsync(CancellationToken.None);
    }

    private static (string, string?, DateTimeOffset?, double, double, double, double, double) Rounded(LedgerRow row) =>
        (row.Spark, row.Model, row.Hour, Math.Round(row.Seconds.Busy, 9), Math.Round(row.Seconds.LoadedIdle, 9), Math.Round(row.Seconds.Loading, 9),
            Math.Round(row.Seconds.NoModel, 9), Math.Round(row.Seconds.Unknown, 9));

    public void Dispose() => _data.Dispose();
}
