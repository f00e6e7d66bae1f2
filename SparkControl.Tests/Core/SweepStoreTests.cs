using SparkControl.Core.Audio.Sweep;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Core;

/// <summary>Sweeps in the SQLite store: kept with their figures; one the panel was running when it stopped comes back Interrupted.</summary>
public sealed class SweepStoreTests : IDisposable
{
    private readonly TempDirectory _data = new("sc-sweeps");

    public void Dispose() => _data.Dispose();

    private static SweepRun Run(long id, SweepStatus status) =>
        new(id, "spark-1", "asr", "parakeet-tdt-0.6b-v2", new SweepSettings { MaxConcurrency = 5, P95Bound = TimeSpan.FromSeconds(12.5) }, ["a.wav"],
            DateTimeOffset.Parse("2026-12-02T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture), "ada")
        {
            Status = status,
            Steps = [new SweepStep(1, 8, 0, 0.5, 1.9, 2.1, null), new SweepStep(2, 8, 1, 0.9, 2.0, 2.4, "HTTP 500")],
            Knee = status == SweepStatus.Done ? 2 : null,
        };

    [Fact]
    public void ARun_IsKeptWithItsFigures_AndARunningOne_ComesBackInterrupted()
    {
        var store = new SweepStore(TestStores.Open(_data.Path));
        Assert.True(store.Save(Run(1, SweepStatus.Done)));
        Assert.True(store.Save(Run(2, SweepStatus.Running)));

        var reopened = new SweepStore(TestStores.Open(_data.Path)).LoadAndMarkInterrupted();
        var again = new SweepStore(TestStores.Open(_data.Path)).LoadAndMarkInterrupted();

        Assert.Equal([2L, 1L], reopened.Select(r => r.Id));
        Assert.Equal(SweepStatus.Interrupted, reopened[0].Status);
        Assert.Equal("the panel stopped while the sweep ran", reopened[0].StopReason);
        Assert.Equal(SweepStatus.Interrupted, again[0].Status);
        var done = reopened[1];
        Assert.Equal(Run(1, SweepStatus.Done).Steps.ToArray(), done.Steps.ToArray());
        Assert.Equal(2, done.Knee);
        Assert.Equal(TimeSpan.FromSeconds(12.5), done.Settings.P95Bound);
        Assert.Equal(["a.wav"], done.Files.ToArray());
        Assert.Equal("ada", done.StartedBy);
    }

    [Fact]
    public void OnlyTheNewestRuns_AreKept()
    {
        var store = new SweepStore(TestStores.Open(_data.Path));
        for (var id = 1; id <= SweepStore.Kept + 5; id++)
        {
            store.Save(Run(id, SweepStatus.Done));
        }

        var kept = store.LoadAndMarkInterrupted();

        Assert.Equal(SweepStore.Kept, kept.Count);
        Assert.Equal(SweepStore.Kept + 5, kept[0].Id);
        Assert.Equal(6, kept[^1].Id);
    }
}
