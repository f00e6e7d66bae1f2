using SparkControl.Core.Gpu;
using SparkControl.Core.Hosts;
using SparkControl.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SparkControl.Tests.Core;

public sealed class GpuLedgerAccumulatorTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);
    private static readonly ModelActivity Qwen = ModelActivity.Loaded("qwen3-8b");

    private static GpuSample At(double seconds, double? utilization) => new(T0.AddSeconds(seconds), 0, utilization);

    private static LedgerSeconds Total(GpuLedgerAccumulator ledger, string? spark = null) =>
        ledger.Pending.Where(p => spark is null || p.Key.Spark == spark).Aggregate(LedgerSeconds.Zero, (sum, p) => sum + p.Value);

    [Theory]
    [InlineData("solid")]
    [InlineData("duty")]
    [InlineData("1s-duty40")]
    public void Add_ReplayedH100Timeline_BusySecondsWithinFivePercentOfTruth(string run)
    {
        var ledger = new GpuLedgerAccumulator(TimeSpan.FromSeconds(5));

        foreach (var sample in GpuFixtures.Timeline(run))
        {
            ledger.Add("h100", sample, Qwen);
        }

        var truth = GpuFixtures.TruthBusySeconds(run);
        var busy = Total(ledger).Busy;
        output.WriteLine($"{run}: busy {busy:0.000} s, truth {truth:0.000} s, error {(busy - truth) / truth:+0.0%;-0.0%}");
        Assert.InRange(busy, truth * 0.95, truth * 1.05);
    }

    [Fact]
    public void Add_LoadedModel_SplitsEachIntervalIntoBusyAndLoadedIdleByTheEndingSample()
    {
        var ledger = new GpuLedgerAccumulator(TimeSpan.FromSeconds(5));

        Assert.Equal(SampleOutcome.Started, ledger.Add("s", At(0, 100), Qwen).Outcome);
        var count = ledger.Add("s", At(2, 25), Qwen);

        Assert.Equal(SampleOutcome.Counted, count.Outcome);
        Assert.Equal("qwen3-8b", count.Model);
        Assert.Equal(new LedgerSeconds(0.5, 1.5, 0, 0, 0), count.Seconds);
        Assert.Equal(count.Seconds, Total(ledger));
    }

    [Fact]
    public void Add_GapLongerThanThreshold_IsUnknownAndNeverInterpolated()
    {
        var ledger = new GpuLedgerAccumulator(TimeSpan.FromSeconds(5));
        ledger.Add("s", At(0, 100), Qwen);
        ledger.Add("s", At(1, 100), Qwen);

        var gap = ledger.Add("s", At(31, 100), Qwen);
        ledger.Add("s", At(32, 100), Qwen);

        Assert.Equal(SampleOutcome.Gap, gap.Outcome);
        var total = Total(ledger);
        Assert.Equal(2, total.Busy, 9);
        Assert.Equal(30, total.Unknown, 9);
        Assert.Equal(0, total.LoadedIdle);
        Assert.Equal(32, total.Total, 9);
    }

    [Fact]
    public void Add_StreamReconnectsAndRepeatsItself_NeverCountsAPeriodTwice()
    {
        var samples = GpuFixtures.Timeline("duty");
        var once = new GpuLedgerAccumulator(TimeSpan.FromSeconds(5));
        foreach (var sample in samples)
        {
            once.Add("s", sample, Qwen);
        }

        var reconnected = new GpuLedgerAccumulator(TimeSpan.FromSeconds(5));
        var outcomes = new List<SampleOutcome>();
        // The stream drops after 60 samples; the new stream starts 20 samples back (a replay) and runs to the end.
        foreach (var sample in samples.Take(60).Concat(samples.Skip(40)))
        {
            outcomes.Add(reconnected.Add("s", sample, Qwen).Outcome);
        }

        Assert.Equal(20, outcomes.Count(o => o == SampleOutcome.Repeated));
        Assert.Equal(Total(once), Total(reconnected));
    }

    [Fact]
    public void Add_SampleAtTheSameTimestamp_IsRepeated()
    {
        var ledger = new GpuLedgerAccumulator(TimeSpan.FromSeconds(5));
        ledger.Add("s", At(0, 0), Qwen);
        ledger.Add("s", At(1, 100), Qwen);

        Assert.Equal(SampleOutcome.Repeated, ledger.Add("s", At(1, 100), Qwen).Outcome);
        Assert.Equal(1, Total(ledger).Busy);
    }

    [Theory]
    [InlineData(ModelActivityState.Loading, "m", 1, 0, 3, 0, 0)]
    [InlineData(ModelActivityState.NoModel, null, 1, 0, 0, 3, 0)]
    [InlineData(ModelActivityState.Unknown, null, 1, 0, 0, 0, 3)]
    [InlineData(ModelActivityState.Loaded, "m", 1, 3, 0, 0, 0)]
    public void Add_EachActivity_GoesToItsState(ModelActivityState state, string? model, double busy, double idle, double loading, double none, double unknown)
    {
        var ledger = new GpuLedgerAccumulator(TimeSpan.FromSeconds(5));
        var activity = new ModelActivity(state is ModelActivityState.Loaded or ModelActivityState.Loading ? "m" : null, state);
        ledger.Add("s", At(0, 25), activity);

        var count = ledger.Add("s", At(4, 25), activity);

        Assert.Equal(model, count.Model);
        Assert.Equal(new LedgerSeconds(busy, idle, loading, none, unknown), count.Seconds);
    }

    [Fact]
    public void Add_IntervalAcrossAMinute_IsSplitInProportion()
    {
        var ledger = new GpuLedgerAccumulator(TimeSpan.FromSeconds(5));
        ledger.Add("s", At(58, 0), Qwen);

        ledger.Add("s", At(62, 50), Qwen);

        var first = ledger.Pending[new LedgerKey("s", "qwen3-8b", T0)];
        var second = ledger.Pending[new LedgerKey("s", "qwen3-8b", T0.AddMinutes(1))];
        Assert.Equal(new LedgerSeconds(1, 1, 0, 0, 0), first);
        Assert.Equal(new LedgerSeconds(1, 1, 0, 0, 0), second);
    }

    [Fact]
    public void Add_NoUtilization_IsUnknown()
    {
        var ledger = new GpuLedgerAccumulator(TimeSpan.FromSeconds(5));
        ledger.Add("s", At(0, 50), Qwen);

        var count = ledger.Add("s", At(1, null), Qwen);

        Assert.Equal(new LedgerSeconds(0, 0, 0, 0, 1), count.Seconds);
    }

    [Fact]
    public void Resume_AfterRestart_IgnoresWhatWasCountedAndStartsAfresh()
    {
        var ledger = new GpuLedgerAccumulator(TimeSpan.FromSeconds(5));
        ledger.Resume("s", T0.AddSeconds(10));

        Assert.Equal(SampleOutcome.Repeated, ledger.Add("s", At(10, 100), Qwen).Outcome);
        // Two hours later the panel runs again: the downtime is not in the ledger, and counting starts at the next sample.
        Assert.Equal(SampleOutcome.Started, ledger.Add("s", At(7200, 100), Qwen).Outcome);
        Assert.Equal(SampleOutcome.Counted, ledger.Add("s", At(7201, 100), Qwen).Outcome);
        Assert.Equal(new LedgerSeconds(1, 0, 0, 0, 0), Total(ledger));
    }

    [Fact]
    public void TakePendingAndReturn_NothingLostNothingDoubled()
    {
        var ledger = new GpuLedgerAccumulator(TimeSpan.FromSeconds(5));
        ledger.Add("a", At(0, 0), Qwen);
        ledger.Add("a", At(1, 100), Qwen);
        ledger.Add("b", At(0, 0), ModelActivity.NoModel);
        ledger.Add("b", At(1, 0), ModelActivity.NoModel);

        var batch = ledger.TakePending();
        Assert.Empty(ledger.Pending);
        ledger.Add("a", At(2, 100), Qwen);
        ledger.Return(batch);

        Assert.Equal(new LedgerSeconds(2, 0, 0, 0, 0), Total(ledger, "a"));
        Assert.Equal(new LedgerSeconds(0, 0, 0, 1, 0), Total(ledger, "b"));
    }
}
