using Microsoft.Extensions.Logging.Abstractions;
using SparkControl.Core.Gpu;
using SparkControl.Core.Storage;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Core;

public sealed class GpuLedgerStoreTests : IDisposable
{
    private static readonly DateTimeOffset Day = new(2026, 11, 26, 0, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _data = new();
    private readonly SparkControlStore _sqlite;
    private readonly GpuLedgerStore _store;

    public GpuLedgerStoreTests()
    {
        _sqlite = TestStores.Open(_data.Path);
        _store = new GpuLedgerStore(_sqlite);
    }

    private static Dictionary<LedgerKey, LedgerSeconds> Minutes(params (string Spark, string? Model, DateTimeOffset Minute, double Busy)[] rows) =>
        rows.ToDictionary(r => new LedgerKey(r.Spark, r.Model, r.Minute), r => new LedgerSeconds(r.Busy, 60 - r.Busy, 0, 0, 0));

    [Fact]
    public void Add_MinuteDeltas_AreRolledUpIntoHoursAndDaysAndAddUpAcrossBatches()
    {
        var ten = Day.AddHours(10);
        _store.Add(Minutes(("s", "m", ten, 30), ("s", "m", ten.AddMinutes(1), 10), ("s", null, ten.AddHours(1), 5)), new Dictionary<string, DateTimeOffset>());
        _store.Add(Minutes(("s", "m", ten, 6)), new Dictionary<string, DateTimeOffset>());

        var minutes = _store.Read(LedgerResolution.Minute, Day, Day.AddDays(1));
        var hours = _store.Read(LedgerResolution.Hour, Day, Day.AddDays(1));
        var days = _store.Read(LedgerResolution.Day, Day, Day.AddDays(1));

        Assert.Equal(3, minutes.Count);
        Assert.Equal(36, minutes.Single(m => m.Bucket == ten).Seconds.Busy);
        Assert.Equal(46, hours.Single(h => h.Bucket == ten && h.Model == "m").Seconds.Busy);
        Assert.Null(hours.Single(h => h.Bucket == ten.AddHours(1)).Model);
        Assert.Equal([(string?)null, "m"], days.Select(d => d.Model).Order());
        Assert.Equal(240, days.Sum(d => d.Seconds.Total));
    }

    [Fact]
    public void Cursors_KeepTheLatestSamplePerSpark()
    {
        _store.Add(Minutes(), new Dictionary<string, DateTimeOffset> { ["s"] = Day.AddSeconds(10) });
        _store.Add(Minutes(), new Dictionary<string, DateTimeOffset> { ["s"] = Day.AddSeconds(5), ["t"] = Day });

        var cursors = _store.ReadCursors();

        Assert.Equal(Day.AddSeconds(10), cursors["s"]);
        Assert.Equal(Day, cursors["t"]);
    }

    [Fact]
    public void FirstBucket_IsTheFirstMinuteWhileItIsKeptThenTheHourThenTheDay()
    {
        Assert.Null(_store.FirstBucket());
        var first = Day.AddHours(10).AddMinutes(7);
        _store.Add(Minutes(("s", "m", first, 1), ("s", "m", Day.AddDays(40), 1)), new Dictionary<string, DateTimeOffset>());
        Assert.Equal(first, _store.FirstBucket());

        _store.Prune(Day.AddDays(40), TimeSpan.FromDays(30), TimeSpan.FromDays(400));
        Assert.Equal(Day.AddHours(10), _store.FirstBucket());

        _store.Prune(Day.AddDays(40), TimeSpan.FromDays(30), TimeSpan.FromDays(2));
        Assert.Equal(Day, _store.FirstBucket());
    }

    [Fact]
    public void Prune_DropsOldMinutesAndHoursButKeepsDays()
    {
        _store.Add(Minutes(("s", "m", Day, 1), ("s", "m", Day.AddDays(31), 1)), new Dictionary<string, DateTimeOffset>());

        _store.Prune(Day.AddDays(31), TimeSpan.FromDays(30), TimeSpan.FromDays(400));

        Assert.Single(_store.Read(LedgerResolution.Minute, DateTimeOffset.MinValue, DateTimeOffset.MaxValue));
        Assert.Equal(2, _store.Read(LedgerResolution.Hour, DateTimeOffset.MinValue, DateTimeOffset.MaxValue).Count);
        Assert.Equal(2, _store.Read(LedgerResolution.Day, DateTimeOffset.MinValue, DateTimeOffset.MaxValue).Count);
    }

    [Fact]
    public void Schema_HasTheLedgerTablesAtTheLatestMigration()
    {
        using var connection = _sqlite.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'gpu_ledger_%';";

        Assert.Equal(SparkControl.Web.Hosting.DatabaseSchema.Create().Latest, _sqlite.SchemaVersion);
        Assert.Equal(4L, command.ExecuteScalar());
    }

    public void Dispose() => _data.Dispose();
}
