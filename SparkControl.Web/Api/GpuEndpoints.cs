using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using SparkControl.Core.Gpu;
using SparkControl.Core.Validation;
using SparkControl.Web.Security;

namespace SparkControl.Web.Api;

/// <summary>The GPUs now (<c>GET /api/gpu</c>) and the busy ledger (<c>GET /api/gpu/ledger</c>, JSON or CSV).</summary>
public static class GpuEndpoints
{
    public static readonly IReadOnlyList<string> Groupings = ["spark", "model", "hour"];
    public static readonly IReadOnlyList<string> Formats = ["json", "csv"];

    public sealed record SampleView(DateTimeOffset Timestamp, double? UtilizationPercent, double? MemoryUsedMiB, double? MemoryTotalMiB, double? PowerDrawWatts, double? TemperatureCelsius);

    /// <summary>Unified memory from <c>/proc/meminfo</c> (used = MemTotal - MemAvailable).</summary>
    public sealed record MemoryView(long TotalBytes, long UsedBytes, long AvailableBytes);

    public sealed record SparkGpuView(string Spark, GpuStreamStatus Stream, string? Error, string? Model, ModelActivityState State, SampleView? Sample, MemoryView? Memory, double? BusyRatio);

    public sealed record GpuView(IReadOnlyList<SparkGpuView> Sparks);

    public sealed record LedgerRowView(
        string Spark,
        string? Model,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? Hour,
        double BusySeconds,
        double LoadedIdleSeconds,
        double LoadingSeconds,
        double NoModelSeconds,
        double UnknownSeconds);

    public sealed record LedgerView(DateTimeOffset From, DateTimeOffset To, string By, IReadOnlyList<LedgerRowView> Rows);

    public static IEndpointRouteBuilder MapGpu(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/gpu").WithTags("GPU");
        group.MapGet("/", Current).RequireAuthorization(AccessPolicies.Viewer);
        group.MapGet("/ledger", Ledger).RequireAuthorization(AccessPolicies.Viewer);
        return endpoints;
    }

    public static Ok<GpuView> Current(GpuBusyTracker tracker) =>
        TypedResults.Ok(new GpuView([.. tracker.Current.Value.Sparks.Select(View)]));

    /// <summary><c>?from=&amp;to=</c> (ISO 8601, default all time up to now), <c>by=spark|model|hour</c>, <c>format=json|csv</c>.</summary>
    public static Results<Ok<LedgerView>, FileContentHttpResult> Ledger(string? from, string? to, string? by, string? format, GpuBusyTracker tracker)
    {
        var query = Parse(from, to, by, format);
        var view = ToView(tracker.Read(query.From, query.To, query.By));
        if (query.Csv)
        {
            var name = $"gpu-ledger-by-{view.By}-{view.From.UtcDateTime:yyyyMMdd'T'HHmm}-{view.To.UtcDateTime:yyyyMMdd'T'HHmm}.csv";
            return TypedResults.File(Encoding.UTF8.GetBytes(ToCsv(view)), "text/csv; charset=utf-8", name);
        }

        return TypedResults.Ok(view);
    }

    public sealed record LedgerQuery(DateTimeOffset? From, DateTimeOffset? To, LedgerGrouping By, bool Csv);

    /// <summary>Checks every query value with the shared validators; all problems at once, each naming its field.</summary>
    public static LedgerQuery Parse(string? from, string? to, string? by, string? format)
    {
        var errors = new List<FieldError>();
        Check(errors, "from", Validators.Timestamp(from, out var start, "from"));
        Check(errors, "to", Validators.Timestamp(to, out var end, "to"));
        Check(errors, "by", Validators.OneOf(by, Groupings, "by"));
        Check(errors, "format", Validators.OneOf(format, Formats, "format"));
        if (start is not null && end is not null && end <= start)
        {
            errors.Add(new FieldError("to", $"to ({to}) must be later than from ({from})"));
        }

        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }

        var grouping = Enum.Parse<LedgerGrouping>(string.IsNullOrEmpty(by) ? "spark" : by, ignoreCase: true);
        return new LedgerQuery(start, end, grouping, string.Equals(format, "csv", StringComparison.OrdinalIgnoreCase));
    }

    public static LedgerView ToView(LedgerReport report) => new(
        report.From,
        report.To,
        report.By.ToString().ToLowerInvariant(),
        [.. report.Rows.Select(r => new LedgerRowView(r.Spark, r.Model, r.Hour,
            Round(r.Seconds.Busy), Round(r.Seconds.LoadedIdle), Round(r.Seconds.Loading), Round(r.Seconds.NoModel), Round(r.Seconds.Unknown)))]);

    /// <summary>The same rows as the JSON, one per line, with a header; the hour column only when grouped by hour.</summary>
    public static string ToCsv(LedgerView view)
    {
        var byHour = view.By == "hour";
        var csv = new StringBuilder(byHour ? "spark,model,hour," : "spark,model,");
        csv.Append("busySeconds,loadedIdleSeconds,loadingSeconds,noModelSeconds,unknownSeconds\n");
        foreach (var row in view.Rows)
        {
            csv.Append(Field(row.Spark)).Append(',').Append(Field(row.Model ?? string.Empty)).Append(',');
            if (byHour)
            {
                csv.Append(row.Hour?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)).Append(',');
            }

            csv.AppendJoin(',', new[] { row.BusySeconds, row.LoadedIdleSeconds, row.LoadingSeconds, row.NoModelSeconds, row.UnknownSeconds }
                .Select(v => v.ToString("0.###", CultureInfo.InvariantCulture))).Append('\n');
        }

        return csv.ToString();
    }

    private static SparkGpuView View(SparkGpuState state) => new(
        state.Spark,
        state.Status,
        state.Error,
        state.Activity.Model,
        state.Activity.State,
        state.Latest is { } s ? new SampleView(s.Timestamp, s.UtilizationPercent, s.MemoryUsedMiB, s.MemoryTotalMiB, s.PowerDrawWatts, s.TemperatureCelsius) : null,
        state.Memory is { } m ? new MemoryView(m.TotalBytes, m.UsedBytes, m.AvailableBytes) : null,
        state.BusyRatio is { } ratio ? Math.Round(ratio, 4) : null);

    private static void Check(List<FieldError> errors, string field, string? problem)
    {
        if (problem is not null)
        {
            errors.Add(new FieldError(field, problem));
        }
    }

    private static double Round(double seconds) => Math.Round(seconds, 3);

    // Model ids cannot hold commas or quotes, but a CSV writer should not depend on that.
    private static string Field(string value) =>
        value.AsSpan().IndexOfAny(",\"\n") >= 0 ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;
}
