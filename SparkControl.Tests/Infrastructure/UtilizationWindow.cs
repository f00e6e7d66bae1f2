using SparkControl.Core.Hosts;

namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// How nvidia-smi's utilization.gpu reads a load: the busy share of the driver's sample window, <see cref="Length"/>
/// long and ending <see cref="Lag"/> before the reading's timestamp. Fitted on the captured timelines against their
/// ground truth, it makes readings for loads nobody captured.
/// </summary>
public sealed record UtilizationWindow(TimeSpan Length, TimeSpan Lag)
{
    public double Reading(IReadOnlyList<(DateTimeOffset Start, DateTimeOffset End)> busy, DateTimeOffset at)
    {
        var (from, to) = (at - Lag - Length, at - Lag);
        var covered = busy.Sum(b => Math.Max(0, ((b.End < to ? b.End : to) - (b.Start > from ? b.Start : from)).TotalSeconds));
        return 100 * covered / Length.TotalSeconds;
    }

    /// <summary>The root-mean-square difference, in percentage points, between the model's readings and <paramref name="timeline"/>'s.</summary>
    public double RmsError(IReadOnlyList<GpuSample> timeline, IReadOnlyList<(DateTimeOffset Start, DateTimeOffset End)> busy) =>
        Math.Sqrt(timeline.Average(s => Math.Pow(s.UtilizationPercent!.Value - Reading(busy, s.Timestamp), 2)));

    /// <summary>The window (5 ms steps, 20–1000 ms long, lag −100–300 ms) whose readings come closest to the capture's.</summary>
    public static (UtilizationWindow Window, double RmsError) Fit(IReadOnlyList<GpuSample> timeline, IReadOnlyList<(DateTimeOffset Start, DateTimeOffset End)> busy)
    {
        var best = (Window: new UtilizationWindow(TimeSpan.Zero, TimeSpan.Zero), RmsError: double.MaxValue);
        for (var length = 20; length <= 1000; length += 5)
        {
            for (var lag = -100; lag <= 300; lag += 5)
            {
                var window = new UtilizationWindow(TimeSpan.FromMilliseconds(length), TimeSpan.FromMilliseconds(lag));
                var error = window.RmsError(timeline, busy);
                if (error < best.RmsError)
                {
                    best = (window, error);
                }
            }
        }

        return best;
    }
}
