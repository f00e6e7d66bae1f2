using System.Collections.Immutable;
using System.Globalization;

namespace SparkControl.Core.Hosts;

/// <summary>Parses nvidia-smi's <c>--format=csv,noheader,nounits</c> output, defensively.</summary>
public static class NvidiaSmi
{
    /// <summary>The fields the panel asks for, in order; replayed or older captures may hold a prefix of another list.</summary>
    public static readonly ImmutableArray<string> SampleFields =
        ["timestamp", "index", "utilization.gpu", "memory.used", "memory.total", "power.draw", "temperature.gpu"];

    public static readonly ImmutableArray<string> ComputeAppFields = ["gpu_uuid", "pid", "process_name", "used_memory"];

    private static readonly string[] TimestampFormats =
    [
        "yyyy/MM/dd HH:mm:ss.fff",
        "yyyy/MM/dd HH:mm:ss",
        "ddd MMM d HH:mm:ss yyyy",
    ];

    /// <summary>
    /// Parses one sample line whose columns are <paramref name="fields"/>. nvidia-smi prints local time without a zone;
    /// the panel runs it with <c>TZ=UTC</c>, so timestamps are read as UTC. Returns null for a blank, header or
    /// malformed line (a stream must survive one bad line).
    /// </summary>
    public static GpuSample? ParseSample(string line, IReadOnlyList<string> fields)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return null;
        }

        var columns = line.Split(',');
        if (columns.Length < fields.Count)
        {
            return null;
        }

        DateTimeOffset? timestamp = null;
        var index = 0;
        double? utilization = null, memoryUsed = null, memoryTotal = null, power = null, temperature = null;
        for (var i = 0; i < fields.Count; i++)
        {
            var value = columns[i].Trim();
            switch (fields[i])
            {
                case "timestamp":
                    timestamp = ParseTimestamp(value);
                    if (timestamp is null)
                    {
                        return null;
                    }

                    break;
                case "index":
                    // A replayed capture may lack the index ([N/A]); a single-GPU Spark is GPU 0.
                    if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out index) && !value.StartsWith('['))
                    {
                        return null;
                    }

                    break;
                case "utilization.gpu":
                    utilization = ParseNumber(value);
                    break;
                case "memory.used":
                    memoryUsed = ParseNumber(value);
                    break;
                case "memory.total":
                    memoryTotal = ParseNumber(value);
                    break;
                case "power.draw":
                    power = ParseNumber(value);
                    break;
                case "temperature.gpu":
                    temperature = ParseNumber(value);
                    break;
            }
        }

        return timestamp is null
            ? null
            : new GpuSample(timestamp.Value, index, utilization, memoryUsed, memoryTotal, power, temperature);
    }

    public static IReadOnlyList<GpuComputeApp> ParseComputeApps(string output)
    {
        var apps = new List<GpuComputeApp>();
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith("gpu_uuid", StringComparison.OrdinalIgnoreCase) || line.StartsWith("No running", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var columns = line.Split(',');
            if (columns.Length < 4 || !int.TryParse(columns[1].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            // A process name may itself contain commas; the memory figure is always the last column.
            var name = string.Join(',', columns[2..^1]).Trim();
            apps.Add(new GpuComputeApp(columns[0].Trim(), pid, name, ParseNumber(columns[^1].Trim())));
        }

        return apps;
    }

    /// <summary>A number, or null for <c>[N/A]</c>, <c>[Not Supported]</c>, <c>N/A</c> and anything else unreadable. Units are ignored.</summary>
    public static double? ParseNumber(string value)
    {
        var text = value.Trim();
        if (text.Length == 0 || text[0] == '[' || text.Equals("N/A", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var end = 0;
        while (end < text.Length && (char.IsDigit(text[end]) || text[end] is '.' or '-' or '+'))
        {
            end++;
        }

        return double.TryParse(text.AsSpan(0, end), NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)
            ? number
            : null;
    }

    public static DateTimeOffset? ParseTimestamp(string value) =>
        DateTime.TryParseExact(value.Trim(), TimestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var parsed)
            ? new DateTimeOffset(parsed, TimeSpan.Zero)
            : null;
}
