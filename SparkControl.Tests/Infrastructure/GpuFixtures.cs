using SparkControl.Core.Hosts;

namespace SparkControl.Tests.Infrastructure;

/// <summary>The captured H100 timelines and the ground truth their load program recorded (TestData/nvidia-smi/h100).</summary>
public static class GpuFixtures
{
    public static readonly string[] DefaultFields = ["timestamp", "utilization.gpu", "memory.used", "power.draw"];

    /// <summary>The fields of timeline-1s-duty40.csv (see the fixture's README).</summary>
    public static readonly string[] Duty40Fields = ["timestamp", "utilization.gpu", "memory.used", "memory.total", "power.draw", "temperature.gpu"];

    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "TestData", "nvidia-smi", "h100", name);

    public static string[] FieldsOf(string run) => run == "1s-duty40" ? Duty40Fields : DefaultFields;

    /// <summary>The samples of timeline-<paramref name="run"/>.csv, in order.</summary>
    public static IReadOnlyList<GpuSample> Timeline(string run) =>
        [.. File.ReadAllLines(Path($"timeline-{run}.csv")).Select(l => NvidiaSmi.ParseSample(l, FieldsOf(run))).OfType<GpuSample>()];

    /// <summary>The busy periods truth-<paramref name="run"/>.csv records (busy_start/busy_end pairs, Unix seconds).</summary>
    public static IReadOnlyList<(DateTimeOffset Start, DateTimeOffset End)> TruthBusy(string run)
    {
        var marks = File.ReadAllLines(Path($"truth-{run}.csv"))
            .Where(l => l.Contains(',', StringComparison.Ordinal))
            .Select(l => l.Split(','))
            .Select(p => (Kind: p[0].Trim(), At: DateTimeOffset.UnixEpoch.AddSeconds(double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture))))
            .ToList();
        var busy = new List<(DateTimeOffset, DateTimeOffset)>();
        for (var i = 0; i + 1 < marks.Count; i += 2)
        {
            Assert.Equal(("busy_start", "busy_end"), (marks[i].Kind, marks[i + 1].Kind));
            busy.Add((marks[i].At, marks[i + 1].At));
        }

        return busy;
    }

    /// <summary>Seconds the GPU was busy according to truth-<paramref name="run"/>.csv.</summary>
    public static double TruthBusySeconds(string run) => TruthBusy(run).Sum(b => (b.End - b.Start).TotalSeconds);
}
