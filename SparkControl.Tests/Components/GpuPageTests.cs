using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SparkControl.Core.Configuration;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Gpu;
using SparkControl.Core.Hosts;
using SparkControl.Core.Sparks;
using SparkControl.Tests.Core;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Components.Controls;
using GpuPage = SparkControl.Web.Components.Pages.Gpu;

namespace SparkControl.Tests.Components;

/// <summary>The GPU page over the real tracker, a fake host's sample channel and a fake clock.</summary>
public sealed class GpuPageTests : UiTestContext
{
    private static readonly DateTimeOffset Start = new(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);
    private readonly TempDirectory _data = new();
    private readonly FakeSparkHost _host = new("spark-1");
    private readonly FakeModelActivitySource _activity;
    private readonly SparkFleet _fleet;

    public GpuPageTests()
    {
        _fleet = new SparkFleet(_time);
        _fleet.Publish(new FleetConfiguration([new SparkEntry(new SparkDefinition { Name = "spark-1", Host = "h", User = "u" }, _host, false)], [], false));
        _activity = new FakeModelActivitySource(_time);
        _activity.Set("spark-1", ModelActivity.Loaded("qwen3-8b"));
        _host.Memory = new MemoryInfo(127_600_748L * 1024, 97_600_748L * 1024);
    }

    private async Task<GpuBusyTracker> StartTrackerAsync(string dataDirectory)
    {
        var tracker = new GpuBusyTracker(
            _fleet,
            _activity,
            new GpuLedgerStore(TestStores.Open(dataDirectory)),
            new SparkControlMetrics(new TestMeterFactory()),
            _time,
            new StaticOptionsMonitor<SparkControlOptions>(new SparkControlOptions { Gpu = new GpuOptions { FlushInterval = TimeSpan.FromMinutes(10) } }),
            NullLogger<GpuBusyTracker>.Instance);
        await tracker.StartAsync(CancellationToken.None);
        Services.AddSingleton(tracker).AddSingleton<TimeProvider>(_time);
        RenderPopoverProvider();
        return tracker;
    }

    private async Task SendAsync(params (int Second, double Utilization)[] samples)
    {
        foreach (var (second, utilization) in samples)
        {
            await _host.Gpu.Writer.WriteAsync(new GpuSample(Start.AddSeconds(second), 0, utilization, null, null, 41.2, 52));
        }
    }

    [Fact]
    public async Task Gpu_LiveSamples_ShowUtilizationSparklineMemoryAndTheLedger()
    {
        var tracker = await StartTrackerAsync(_data.Path);
        var page = Render<GpuPage>();

        await SendAsync([.. Enumerable.Range(0, 31).Select(s => (s, s % 2 == 0 ? 100.0 : 0.0)), (31, 87)]);
        await Wait.UntilAsync(() => tracker.Current.Value.Find("spark-1")?.Latest?.Timestamp == Start.AddSeconds(31), "every sample is counted");
        _time.Advance(TimeSpan.FromSeconds(40));
        // The page re-reads the ledger's figures when the tracker flushes.
        tracker.Flush();

        page.WaitForAssertion(() =>
        {
            var panel = page.Find("[data-testid=gpu-spark-spark-1]");
            Assert.Equal("87", panel.QuerySelector("[data-testid=gpu-utilization]")!.TextContent.Trim());
            Assert.Equal("32", panel.QuerySelector("[data-testid=gpu-sparkline]")!.GetAttribute("data-points"));
            Assert.Equal("qwen3-8b", panel.QuerySelector("[data-testid=gpu-activity]")!.TextContent.Trim());
            Assert.Equal("41.2 W", panel.QuerySelector("[data-testid=gpu-power]")!.TextContent.Trim());
            Assert.Equal("28.6 of 121.7 GiB", panel.QuerySelector("[data-testid=gpu-memory]")!.TextContent.Trim());
        });
        // 31 one-second intervals, 15 of them busy plus 0.87 of the last: 15.87 s of 31 s.
        page.WaitForAssertion(() =>
        {
            var row = page.Find("[data-testid=gpu-ledger-qwen3-8b]");
            Assert.Equal("15.9 s", row.QuerySelector("[data-testid=ledger-busy]")!.TextContent.Trim());
            Assert.Contains("100 %", row.TextContent, StringComparison.Ordinal);
            Assert.Equal("51.2 %", page.Find("[data-testid=busy-hour]").TextContent.Trim());
        });
        await tracker.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Gpu_Period_ChangesTheCsvExportToTheSameRangeOfTheApi()
    {
        var tracker = await StartTrackerAsync(_data.Path);
        var page = Render<GpuPage>();
        page.WaitForAssertion(() => Assert.NotNull(page.Find("[data-testid=gpu-spark-spark-1]")));

        Assert.Equal("api/gpu/ledger?from=2026-11-19T10%3A00%3A00Z&to=2026-11-26T10%3A00%3A00Z&by=model&format=csv", page.Find("[data-testid=gpu-csv]").GetAttribute("href"));
        await page.InvokeAsync(() => page.FindAll("[data-testid=gpu-period] .mud-toggle-item")[0].Click());

        page.WaitForAssertion(() => Assert.Equal(
            "api/gpu/ledger?from=2026-11-25T10%3A00%3A00Z&to=2026-11-26T10%3A00%3A00Z&by=model&format=csv",
            page.Find("[data-testid=gpu-csv]").GetAttribute("href")));
        Assert.Contains("last 24 hours", page.Markup, StringComparison.Ordinal);
        await tracker.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Gpu_DatabaseUnavailable_SaysTheLedgerIsInMemoryOnly()
    {
        // A file where the data directory should be: the store cannot open its database.
        var notADirectory = Path.Combine(_data.Path, "file");
        await File.WriteAllTextAsync(notADirectory, "x");
        var tracker = await StartTrackerAsync(notADirectory);
        var page = Render<GpuPage>();

        await SendAsync((0, 50), (1, 50));
        await Wait.UntilAsync(() => tracker.Current.Value.Find("spark-1")?.Latest?.Timestamp == Start.AddSeconds(1), "both samples are counted");

        page.WaitForAssertion(() => Assert.Contains("kept in memory only", page.Find("[data-testid=gpu-ledger-memory-only]").TextContent, StringComparison.Ordinal));
        Assert.Equal(0.5, tracker.Read(null, null, LedgerGrouping.Spark).TotalOf("spark-1").Busy, 9);
        await tracker.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task SparkGpuFigures_FollowTheirOwnSpark_AndRenderOnlyWhenItsSamplesMove()
    {
        var other = new FakeSparkHost("spark-2");
        _fleet.Publish(new FleetConfiguration(
            [new SparkEntry(new SparkDefinition { Name = "spark-1", Host = "h", User = "u" }, _host, false), new SparkEntry(new SparkDefinition { Name = "spark-2", Host = "h2", User = "u" }, other, false)],
            [],
            false));
        var tracker = await StartTrackerAsync(_data.Path);
        var figures = Render<CountingFigures>(p => p.Add(c => c.Spark, "spark-1"));

        await SendAsync((0, 40), (1, 87));
        figures.WaitForAssertion(() => Assert.Equal("87 %", figures.Find("[data-testid=card-gpu-utilization]").TextContent.Trim()));
        Assert.Equal("28.6 of 121.7 GiB", figures.Find("[data-testid=card-gpu-memory]").TextContent.Trim());
        Assert.Equal("2", figures.Find("[data-testid=gpu-sparkline]").GetAttribute("data-points"));
        // After-render calls follow the markup's update on the renderer's thread: counted once the renderer has moved on.
        await figures.InvokeAsync(() => { });
        var renders = figures.Instance.Renders;

        // The other Spark's samples leave this Spark's state as it was: no render for them.
        foreach (var second in Enumerable.Range(0, 5))
        {
            await other.Gpu.Writer.WriteAsync(new GpuSample(Start.AddSeconds(second), 0, 99, null, null, 40, 50));
        }

        await Wait.UntilAsync(() => tracker.Current.Value.Find("spark-2")?.Latest?.Timestamp == Start.AddSeconds(4), "the other Spark's samples are counted");
        await SendAsync((2, 12));
        figures.WaitForAssertion(() => Assert.Equal("12 %", figures.Find("[data-testid=card-gpu-utilization]").TextContent.Trim()));
        // The figures' own renders, not their MudBlazor children's (which render again in batches of their own, late on a
        // busy machine): the tracker's updates reach the figures in order, so a render for any of the other Spark's
        // samples would have come before the one for this Spark's own sample.
        await figures.InvokeAsync(() => { });
        Assert.Equal(renders + 1, figures.Instance.Renders);
        await tracker.StopAsync(CancellationToken.None);
    }

    /// <summary>The figures, counting their own renders (<see cref="ComponentBase.OnAfterRender"/> runs once for each).</summary>
    private sealed class CountingFigures : SparkGpuFigures
    {
        private int _renders;

        public int Renders => Volatile.Read(ref _renders);

        protected override void OnAfterRender(bool firstRender) => Interlocked.Increment(ref _renders);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _data.Dispose();
        }

        base.Dispose(disposing);
    }
}
