namespace SparkControl.Core.Audio.Echo;

/// <summary>
/// How the echo's delay moves over a call whose loudspeaker and microphone run on different clocks: the delay at the
/// start (samples) and its slope. <see cref="Ppm"/> is how much faster the loudspeaker's clock runs than the
/// recorder's (a fast loudspeaker plays each second in less than a second, so the delay shrinks).
/// </summary>
/// <param name="DelayAtStart">Delay at sample 0, in samples (fractional).</param>
/// <param name="Slope">Change of the delay per sample of the call (dimensionless; −60e-6 for a loudspeaker 60 ppm fast).</param>
/// <param name="Windows">How many windows had a clear enough echo to be measured.</param>
public sealed record EchoDrift(double DelayAtStart, double Slope, int Windows)
{
    public double Ppm => -Slope * 1e6;

    /// <summary>The delay at sample <paramref name="n"/>.</summary>
    public double DelayAt(long n) => DelayAtStart + (Slope * n);
}

/// <summary>
/// Measures drift: GCC-PHAT (<see cref="EchoDelayEstimator"/>) over 4 s windows every 2 s, each peak refined between
/// samples, and a Theil–Sen line through them (the median of the slopes between every pair of windows, so a window
/// that locked onto a reflection instead of the direct path does not tilt it).
/// </summary>
public static class EchoDriftEstimator
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(4);

    public static readonly TimeSpan Hop = TimeSpan.FromSeconds(2);

    /// <summary>Fewer measured windows than this give no estimate.</summary>
    public const int MinimumWindows = 5;

    /// <summary>The drift line, or null when fewer than <see cref="MinimumWindows"/> windows show a clear echo.</summary>
    public static EchoDrift? Estimate(ReadOnlySpan<float> mic, ReadOnlySpan<float> reference, int sampleRate, TimeSpan maxDelay)
    {
        var window = (int)(Window.TotalSeconds * sampleRate);
        var hop = (int)(Hop.TotalSeconds * sampleRate);
        var length = Math.Min(mic.Length, reference.Length);
        var times = new List<double>();
        var lags = new List<double>();
        for (var start = 0; start + window <= length; start += hop)
        {
            var (_, lag, ratio) = EchoDelayEstimator.Peak(mic.Slice(start, window), reference.Slice(start, window), sampleRate, maxDelay);
            if (ratio >= EchoDelayEstimator.PeakToNoiseThreshold)
            {
                times.Add(start + (window / 2.0));
                lags.Add(lag);
            }
        }

        if (times.Count < MinimumWindows)
        {
            return null;
        }

        var slopes = new List<double>();
        for (var i = 0; i < times.Count; i++)
        {
            for (var j = i + 1; j < times.Count; j++)
            {
                slopes.Add((lags[j] - lags[i]) / (times[j] - times[i]));
            }
        }

        var slope = Median(slopes);
        var intercept = Median(times.Select((t, i) => lags[i] - (slope * t)).ToList());
        return new EchoDrift(intercept, slope, times.Count);
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        var middle = values.Count / 2;
        return values.Count % 2 == 1 ? values[middle] : 0.5 * (values[middle - 1] + values[middle]);
    }
}
