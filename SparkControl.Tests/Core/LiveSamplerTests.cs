using SparkControl.Core.Gpu;
using SparkControl.Core.Hosts;

namespace SparkControl.Tests.Core;

public sealed class LiveSamplerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 10, 0, 0, TimeSpan.Zero);

    private static (GpuSample Sample, SampleCount Count) Counted(int tenths, double utilization, double busy) =>
        (new GpuSample(T0.AddSeconds(tenths / 10.0), 0, utilization), new SampleCount(SampleOutcome.Counted, "m", new LedgerSeconds(busy, 0.1 - busy, 0, 0, 0)));

    [Fact]
    public void Add_TenthOfASecondSamples_ShowsOnePerSecondWithTheSecondsBusyShare()
    {
        var sampler = new LiveSampler(TimeSpan.FromSeconds(1));
        var first = sampler.Add(new GpuSample(T0, 0, 100), new SampleCount(SampleOutcome.Started, null, LedgerSeconds.Zero));
        Assert.Equal(100, first!.UtilizationPercent);

        var shown = new List<GpuSample>();
        for (var tenth = 1; tenth <= 20; tenth++)
        {
            // Busy the first three tenths of every second: 30 %, whatever the last reading says.
            var busy = tenth % 10 is >= 1 and <= 3;
            var (sample, count) = Counted(tenth, busy ? 100 : 0, busy ? 0.1 : 0);
            if (sampler.Add(sample, count) is { } live)
            {
                shown.Add(live);
            }
        }

        Assert.Equal([T0.AddSeconds(1), T0.AddSeconds(2)], shown.Select(s => s.Timestamp));
        Assert.All(shown, s => Assert.Equal(30, s.UtilizationPercent!.Value, 9));
    }

    [Fact]
    public void Add_RepeatedSample_ShowsNothingAndAGapAtOnce()
    {
        var sampler = new LiveSampler(TimeSpan.FromSeconds(1));
        sampler.Add(new GpuSample(T0, 0, 0), new SampleCount(SampleOutcome.Started, null, LedgerSeconds.Zero));
        var (sample, count) = Counted(1, 100, 0.1);
        Assert.Null(sampler.Add(sample, count));

        Assert.Null(sampler.Add(sample, count with { Outcome = SampleOutcome.Repeated, Seconds = LedgerSeconds.Zero }));
        var gap = new GpuSample(T0.AddSeconds(1.5), 0, 40);
        var shown = sampler.Add(gap, new SampleCount(SampleOutcome.Gap, null, new LedgerSeconds(0, 0, 0, 0, 1.4)));
        Assert.Equal(gap, shown);
    }
}
