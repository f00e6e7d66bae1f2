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

    /// <summary>Sample <paramref name="index"/> re-stamped for a pass that starts at <paramref name="start"/>.</summary>
    public GpuSample Sample(DateTimeOffset start, int index, double speed) =>
        Samples[index] with { Timestamp = start + TimeSpan.FromTicks((long)((Samples[index].Timestamp - Samples[0].Timestamp).Ticks / speed)) };

    /// <summary>
    /// The first sample stamped at or after <paramref name="from"/> when passes of <paramref name="period"/> follow each
    /// other from <paramref name="anchor"/>: the pass and the index in it.
    /// </summary>
    public (int Pass, int Index) Locate(DateTimeOffset anchor, TimeSpan period, DateTimeOffset from, double speed)
    {
        if (from <= anchor)
        {
            return (0, 0);
        }

        var pass = (int)((from - anchor).Ticks / period.Ticks);
        var start = anchor + (period * pass);
        for (var index = 0; index < Samples.Length; index++)
        {
            if (Sample(start, index, speed).Timestamp >= from)
            {
                return (pass, index);
            }
        }

        return (pass + 1, 0);
    }

    /// <summary>The capture's usual gap between two samples (the median), at <paramref name="speed"/>.</summary>
    public TimeSpan Spacing(double speed)
    {
        if (Samples.Length < 2)
        {
            return TimeSpan.FromSeconds(1);
        }

        var gaps = Samples.Zip(Samples.Skip(1), (a, b) => (b.Timestamp - a.Timestamp).Ticks).Order().ToArray();
        return TimeSpan.FromTicks((long)(gaps[gaps.Length / 2] / speed));
    }

    /// <summary>How long the replay lasts at <paramref name="speed"/>.</summary>
    public TimeSpan Duration(double speed) => TimeSpan.FromTicks((long)((Samples[^1].Timestamp - Samples[0].Timestamp).Ticks / speed));
}
