using System.Collections.Immutable;
using SparkControl.Core.Hosts;

namespace SparkControl.Sim.Hosting;

/// <summary>
/// A recorded <c>nvidia-smi --query-gpu=timestamp,utilization.gpu,... -lms N</c> capture, re-stamped so that its first
/// sample falls at a chosen moment and its spacing is divided by a speed factor.
/// </summary>
public sealed class GpuReplay
{
    /// <summary>The field list of the captures this project replays (<c>timestamp,utilization.gpu,memory.used,power.draw</c>).</summary>
    public static readonly ImmutableArray<string> DefaultFields = ["timestamp", "utilization.gpu", "memory.used", "power.draw"];

    private GpuReplay(ImmutableArray<GpuSample> samples) => Samples = samples;

    /// <summary>The samples with their original timestamps.</summary>
    public ImmutableArray<GpuSample> Samples { get; }

    public static GpuReplay Parse(string text, IReadOnlyList<string>? fields = null)
    {
        var columns = fields ?? DefaultFields;
        var samples = text.Split('\n')
            .Select(line => NvidiaSmi.ParseSample(line.TrimEnd('\r'), columns))
            .OfType<GpuSample>()
            .OrderBy(s => s.Timestamp)
            .ToImmutableArray();
        if (samples.IsEmpty)
        {
            throw new FormatException($"no samples could be read; expected lines of {string.Join(",", columns)} as nvidia-smi --format=csv,noheader,nounits prints them");
        }

        return new GpuReplay(samples);
    }

    public static GpuReplay Load(string path, IReadOnlyList<string>? fields = null) => Parse(File.ReadAllText(path), fields);

    /// <summary>The samples moved so the first lands at <paramref name="start"/>, with gaps divided by <paramref name="speed"/>.</summary>
    public ImmutableArray<GpuSample> Restamp(DateTimeOffset start, double speed)
    {
        var origin = Samples[0].Timestamp;
        return [.. Samples.Select(s => s with { Timestamp = start + TimeSpan.FromTicks((long)((s.Timestamp - origin).Ticks / speed)) })];
    }

    /// <summary>How long the replay lasts at <paramref name="speed"/>.</summary>
    public TimeSpan Duration(double speed) => TimeSpan.FromTicks((long)((Samples[^1].Timestamp - Samples[0].Timestamp).Ticks / speed));
}
