using System.Collections.Immutable;
namespace SparkControl.Core.Gpu;

/// <summary>How ledger rows are grouped: one per Spark, per Spark and model, or per Spark and hour.</summary>
public enum LedgerGrouping
{
    Spark,
    Model,
    Hour,
}

/// <summary>One row of a ledger report. <see cref="Model"/> is set only when grouped by model, <see cref="Hour"/> only by hour.</summary>
public sealed record LedgerRow(string Spark, string? Model, DateTimeOffset? Hour, LedgerSeconds Seconds);

/// <summary>The ledger between <see cref="From"/> and <see cref="To"/>, grouped by <see cref="By"/>.</summary>
public sealed record LedgerReport(DateTimeOffset From, DateTimeOffset To, LedgerGrouping By, ImmutableArray<LedgerRow> Rows)
{
    /// <summary>Every row of one Spark added up.</summary>
    public LedgerSeconds TotalOf(string spark) =>
        Rows.Where(r => string.Equals(r.Spark, spark, StringComparison.OrdinalIgnoreCase)).Aggregate(LedgerSeconds.Zero, (sum, r) => sum + r.Seconds);
}

/// <summary>
/// Which rollups answer a range. The range is resolved to whole minutes: it holds every minute that overlaps
/// [from, to), so the minute in progress is included. Whole days come from the day table, whole hours from the hour
/// table and the minutes at either end from the minute table; grouped by hour, days are read as hours.
/// </summary>
public static class LedgerPlan
{
    public sealed record Piece(LedgerResolution Resolution, DateTimeOffset From, DateTimeOffset To);

    public static ImmutableArray<Piece> For(DateTimeOffset from, DateTimeOffset to, LedgerGrouping by)
    {
        var start = LedgerTime.Minute(from);
        var end = LedgerTime.Ceiling(to, TimeSpan.TicksPerMinute);
        var pieces = ImmutableArray.CreateBuilder<Piece>();
        var firstHour = LedgerTime.Ceiling(start, TimeSpan.TicksPerHour);
        var lastHour = LedgerTime.Hour(end);
        if (firstHour >= lastHour)
        {
            Add(pieces, LedgerResolution.Minute, start, end);
            return pieces.ToImmutable();
        }

        Add(pieces, LedgerResolution.Minute, start, firstHour);
        var firstDay = LedgerTime.Ceiling(firstHour, TimeSpan.TicksPerDay);
        var lastDay = LedgerTime.Day(lastHour);
        if (by == LedgerGrouping.Hour || firstDay >= lastDay)
        {
            Add(pieces, LedgerResolution.Hour, firstHour, lastHour);
        }
        else
        {
            Add(pieces, LedgerResolution.Hour, firstHour, firstDay);
            Add(pieces, LedgerResolution.Day, firstDay, lastDay);
            Add(pieces, LedgerResolution.Hour, lastDay, lastHour);
        }

        Add(pieces, LedgerResolution.Minute, lastHour, end);
        return pieces.ToImmutable();
    }

    /// <summary>Adds up <paramref name="buckets"/> into rows grouped by <paramref name="by"/>, in a stable order.</summary>
    public static ImmutableArray<LedgerRow> Group(IEnumerable<LedgerBucket> buckets, LedgerGrouping by) =>
    [
        .. buckets
            .GroupBy(b => (Spark: b.Spark.ToLowerInvariant(), Model: by == LedgerGrouping.Model ? b.Model : null, Hour: by == LedgerGrouping.Hour ? LedgerTime.Hour(b.Bucket) : (DateTimeOffset?)null))
            .Select(g => new LedgerRow(g.First().Spark, g.Key.Model, g.Key.Hour, g.Aggregate(LedgerSeconds.Zero, (sum, b) => sum + b.Seconds)))
            .OrderBy(r => r.Spark, StringComparer.OrdinalIgnoreCase)
            .ThenBy(r => r.Hour)
            .ThenBy(r => r.Model is null)
            .ThenByDescending(r => r.Seconds.Total),
    ];

    private static void Add(ImmutableArray<Piece>.Builder pieces, LedgerResolution resolution, DateTimeOffset from, DateTimeOffset to)
    {
        if (from < to)
        {
            pieces.Add(new Piece(resolution, from, to));
        }
    }
}
