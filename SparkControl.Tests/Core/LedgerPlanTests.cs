using SparkControl.Core.Gpu;
namespace SparkControl.Tests.Core;

public sealed class LedgerPlanTests
{
    private static DateTimeOffset At(string text) => DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture);

    [Theory]
    // Within one hour: minutes only, the minute in progress included.
    [InlineData("2026-11-26T10:05:30Z", "2026-11-26T10:20:10Z", LedgerGrouping.Spark, "Minute 10:05-10:21")]
    // Across hours on one day: minutes, whole hours, minutes.
    [InlineData("2026-11-26T10:05:00Z", "2026-11-26T13:20:00Z", LedgerGrouping.Spark, "Minute 10:05-11:00|Hour 11:00-13:00|Minute 13:00-13:20")]
    // Across days: whole days from the day table.
    [InlineData("2026-11-25T22:30:00Z", "2026-11-28T01:15:00Z", LedgerGrouping.Model, "Minute 22:30-23:00|Hour 23:00-00:00|Day 00:00-00:00|Hour 00:00-01:00|Minute 01:00-01:15")]
    // Grouped by hour, days are read as hours.
    [InlineData("2026-11-25T22:30:00Z", "2026-11-28T01:15:00Z", LedgerGrouping.Hour, "Minute 22:30-23:00|Hour 23:00-01:00|Minute 01:00-01:15")]
    // Aligned on both ends: no minutes at all.
    [InlineData("2026-11-26T00:00:00Z", "2026-11-28T00:00:00Z", LedgerGrouping.Spark, "Day 00:00-00:00")]
    public void For_Range_ReadsEachPartFromTheCoarsestTableThatFits(string from, string to, LedgerGrouping by, string expected)
    {
        var pieces = LedgerPlan.For(At(from), At(to), by);

        Assert.Equal(expected, string.Join('|', pieces.Select(p => $"{p.Resolution} {p.From:HH:mm}-{p.To:HH:mm}")));
        // Together the pieces cover the range resolved to minutes, with no overlap.
        Assert.True(pieces.Zip(pieces.Skip(1)).All(p => p.First.To == p.Second.From));
    }

    [Fact]
    public void Group_ByModelSparkAndHour_AddsUpBuckets()
    {
        var ten = At("2026-11-26T10:00:00Z");
        LedgerBucket[] buckets =
        [
            new("spark-1", "a", ten, new LedgerSeconds(10, 50, 0, 0, 0)),
            new("spark-1", "a", ten.AddMinutes(1), new LedgerSeconds(20, 40, 0, 0, 0)),
            new("spark-1", null, ten.AddHours(1), new LedgerSeconds(5, 0, 0, 55, 0)),
            new("spark-2", "b", ten, new LedgerSeconds(0, 0, 60, 0, 0)),
        ];

        var bySpark = LedgerPlan.Group(buckets, LedgerGrouping.Spark);
        var byModel = LedgerPlan.Group(buckets, LedgerGrouping.Model);
        var byHour = LedgerPlan.Group(buckets, LedgerGrouping.Hour);

        Assert.Equal([("spark-1", 35.0), ("spark-2", 0.0)], bySpark.Select(r => (r.Spark, r.Seconds.Busy)));
        Assert.All(bySpark, r => Assert.Null(r.Model));
        Assert.Equal([("spark-1", "a"), ("spark-1", null), ("spark-2", "b")], byModel.Select(r => (r.Spark, r.Model)));
        Assert.Equal([("spark-1", ten), ("spark-1", ten.AddHours(1)), ("spark-2", ten)], byHour.Select(r => (r.Spark, r.Hour!.Value)));
    }
}
