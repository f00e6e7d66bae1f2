using SparkControl.Core.Configuration;
using SparkControl.Core.Gpu;
using SparkControl.Core.Hosts;
using SparkControl.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SparkControl.Tests.Core;

/// <summary>
/// Why the ledger samples nvidia-smi every 100 ms: utilization.gpu covers the driver's last window, about 100 ms, not
/// the time since the previous reading. Read every second, a tenth of the time is seen and a periodic load aliases.
/// </summary>
public sealed class GpuSamplingTests(ITestOutputHelper output)
{
    private static readonly ModelActivity Loaded = ModelActivity.Loaded("m");

    private static double LedgerBusy(IEnumerable<GpuSample> samples)
    {
        var ledger = new GpuLedgerAccumulator(TimeSpan.FromSeconds(5));
        foreach (var sample in samples)
        {
            ledger.Add("gpu", sample, Loaded);
        }

        return ledger.Pending.Values.Sum(s => s.Busy);
    }

    [Fact]
    public void DriverWindow_FittedOnTheDutyCapture_IsAboutATenthOfASecond()
    {
        var timeline = GpuFixtures.Timeline("duty");
        var busy = GpuFixtures.TruthBusy("duty");

        var (window, error) = UtilizationWindow.Fit(timeline, busy);

        output.WriteLine($"window {window.Length.TotalMilliseconds} ms, {window.Lag.TotalMilliseconds} ms before the reading, rms {error:0.00} points");
        Assert.InRange(window.Length.TotalMilliseconds, 90, 110);
        Assert.InRange(window.Lag.TotalMilliseconds, 25, 75);
        Assert.True(error < 2, $"the window explains the readings to {error:0.00} points");
        // A window as long as the time since the previous reading (what integrating the readings assumes) does not.
        var interval = new UtilizationWindow(TimeSpan.FromMilliseconds(200), TimeSpan.Zero).RmsError(timeline, busy);
        Assert.True(interval > 3 * error, $"a 200 ms window is off by {interval:0.00} points");
    }

    [Fact]
    public void Ledger_DutyCaptureReadEverySecond_AliasesWhereItsOwnPeriodIsRight()
    {
        var timeline = GpuFixtures.Timeline("duty");
        var truth = GpuFixtures.TruthBusySeconds("duty");

        // Every fifth reading of the 200 ms capture is what nvidia-smi -l 1 would have printed.
        var errors = Enumerable.Range(0, 5).Select(offset => (LedgerBusy(timeline.Skip(offset).Where((_, i) => i % 5 == 0)) - truth) / truth).ToList();
        var full = (LedgerBusy(timeline) - truth) / truth;

        output.WriteLine($"200 ms: {full:+0.0%;-0.0%}; 1 s at the five offsets: {string.Join(", ", errors.Select(e => e.ToString("+0.0%;-0.0%", System.Globalization.CultureInfo.InvariantCulture)))}");
        Assert.InRange(full, -0.05, 0.05);
        Assert.True(errors.Max(Math.Abs) > 0.25, "read every second, some offset is off by more than a quarter");
    }

    public static TheoryData<double> Periods => [0.5, 0.8, 1.0, 1.02, 1.5, 2.0, 2.5, 3.0, 3.3, 4.0, 5.0, 10.0];

    [Theory]
    [MemberData(nameof(Periods))]
    public void Ledger_ThirtyPercentDutyLoads_AtTheDefaultSampleInterval_WithinOnePercent(double period)
    {
        var window = UtilizationWindow.Fit(GpuFixtures.Timeline("duty"), GpuFixtures.TruthBusy("duty")).Window;
        var interval = new SparkControlOptions().GpuSampleInterval;
        var start = new DateTimeOffset(2026, 12, 5, 10, 0, 0, TimeSpan.Zero);

        foreach (var phase in new[] { 0, 0.13, 0.37, 0.61, 0.89 })
        {
            // Three idle seconds, a minute of 30 % duty, three idle seconds, as the captures were made.
            var first = start.AddSeconds(3 + phase);
            var busy = Enumerable.Range(0, (int)(60 / period))
                .Select(k => (first.AddSeconds(k * period), first.AddSeconds((k + 0.3) * period)))
                .ToList();
            var truth = busy.Sum(b => (b.Item2 - b.Item1).TotalSeconds);
            var end = busy[^1].Item2.AddSeconds(3);

            // nvidia-smi -lms 100 prints about every 100.5 ms (the captures' 200 ms loop ran 200–201 ms apart).
            var step = interval + TimeSpan.FromMilliseconds(0.5);
            var readings = new List<GpuSample>();
            for (var at = start; at < end; at += step)
            {
                readings.Add(new GpuSample(at, 0, window.Reading(busy, at)));
            }

            var everySecond = readings.Where((_, i) => i % 10 == 0).ToList();
            var error = (LedgerBusy(readings) - truth) / truth;
            output.WriteLine($"period {period} s, phase {phase}: {error:+0.00%;-0.00%} (read every second: {(LedgerBusy(everySecond) - truth) / truth:+0.0%;-0.0%})");
            Assert.InRange(error, -0.01, 0.01);
        }
    }
}
