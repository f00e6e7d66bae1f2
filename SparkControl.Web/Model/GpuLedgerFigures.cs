using System.Collections.Immutable;
using System.Globalization;
using SparkControl.Core.Gpu;

namespace SparkControl.Web.Model;

/// <summary>The period the GPU page's ledger table and CSV export cover.</summary>
public enum LedgerPeriod
{
    Day,
    Week,
    AllTime,
}

/// <summary>One model's line in a Spark's ledger table; <see cref="Share"/> is of all the time recorded in the period.</summary>
public sealed record ModelLedgerLine(string? Model, LedgerSeconds Seconds, double Share);

/// <summary>Busy over watched time in one hour; null when nothing was watched.</summary>
public sealed record HourBusy(DateTimeOffset Hour, double? BusyRatio);

/// <summary>What the GPU page shows of one Spark's ledger.</summary>
public sealed record SparkLedgerFigures(
    string Spark,
    double? BusyLastHour,
    double? BusyLastDay,
    double? BusyLastWeek,
    ImmutableArray<ModelLedgerLine> Models,
    LedgerSeconds PeriodTotal,
    ImmutableArray<HourBusy> Hours);

/// <summary>The GPU page's ledger figures for every Spark, read from the tracker in one go.</summary>
public sealed record GpuLedgerFigures(DateTimeOffset? From, DateTimeOffset To, LedgerPeriod Period, ImmutableDictionary<string, SparkLedgerFigures> Sparks)
{
    public const int HoursShown = 24;

    public SparkLedgerFigures? Find(string spark) => Sparks.GetValueOrDefault(spark);

    public static GpuLedgerFigures Load(GpuBusyTracker tracker, IEnumerable<string> sparks, DateTimeOffset now, LedgerPeriod period)
    {
        DateTimeOffset? from = period switch
        {
            LedgerPeriod.Day => now.AddDays(-1),
            LedgerPeriod.Week => now.AddDays(-7),
            _ => null,
        };
        var lastHour = tracker.Read(now.AddHours(-1), null, LedgerGrouping.Spark);
        var lastDay = tracker.Read(now.AddDays(-1), null, LedgerGrouping.Spark);
        var lastWeek = tracker.Read(now.AddDays(-7), null, LedgerGrouping.Spark);
        var models = tracker.Read(from, null, LedgerGrouping.Model);
        var firstHour = LedgerTime.Hour(now).AddHours(-(HoursShown - 1));
        var hours = tracker.Read(firstHour, null, LedgerGrouping.Hour);
        var figures = ImmutableDictionary.CreateBuilder<string, SparkLedgerFigures>(StringComparer.OrdinalIgnoreCase);
        foreach (var spark in sparks)
        {
            var rows = models.Rows.Where(r => Is(r, spark)).ToList();
            var total = rows.Aggregate(LedgerSeconds.Zero, (sum, r) => sum + r.Seconds);
            var byHour = hours.Rows.Where(r => Is(r, spark)).ToDictionary(r => r.Hour!.Value, r => r.Seconds.BusyRatio);
            figures[spark] = new SparkLedgerFigures(
                spark,
                lastHour.TotalOf(spark).BusyRatio,
                lastDay.TotalOf(spark).BusyRatio,
                lastWeek.TotalOf(spark).BusyRatio,
                [.. rows.Select(r => new ModelLedgerLine(r.Model, r.Seconds, total.Total > 0 ? r.Seconds.Total / total.Total : 0))],
                total,
                [.. Enumerable.Range(0, HoursShown).Select(i => firstHour.AddHours(i)).Select(h => new HourBusy(h, byHour.GetValueOrDefault(h)))]);
        }

        return new GpuLedgerFigures(from, now, period, figures.ToImmutable());
    }

    /// <summary>The ledger API's address for this period's per-model rows as CSV: the export is exactly what the API answers.</summary>
    public string CsvHref()
    {
        var query = From is { } start ? $"from={Uri.EscapeDataString(Iso(start))}&to={Uri.EscapeDataString(Iso(To))}&" : $"to={Uri.EscapeDataString(Iso(To))}&";
        return $"api/gpu/ledger?{query}by=model&format=csv";
    }

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static bool Is(LedgerRow row, string spark) => string.Equals(row.Spark, spark, StringComparison.OrdinalIgnoreCase);
}

/// <summary>How the GPU page writes durations and shares.</summary>
public static class LedgerFormat
{
    /// <summary>Seconds as an operator reads them: "42 s", "12 min", "3.4 h".</summary>
    public static string Duration(double seconds) => seconds switch
    {
        < 0.05 => "0",
        < 60 => string.Create(CultureInfo.InvariantCulture, $"{seconds:0.#} s"),
        < 3600 => string.Create(CultureInfo.InvariantCulture, $"{seconds / 60:0.#} min"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600:0.##} h"),
    };

    public static string Percent(double? ratio) => ratio is { } r ? string.Create(CultureInfo.InvariantCulture, $"{r * 100:0.#} %") : "–";
}
