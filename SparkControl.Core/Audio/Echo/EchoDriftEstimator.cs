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
/// that locked onto a reflection instead of the direct path does not tilt it). The windows are measured in parallel:
/// each is the cost of a whole-file delay estimate's four seconds, and there are many.
/// </summary>
public static class EchoDriftEstimator
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(4);

    public static readonly TimeSpan Hop = TimeSpan.FromSeconds(2);

    /// <summary>Fewer measured windows than this give no estimate.</summary>
    public const int MinimumWindows = 5;

    /// <summary>
    /// The drift line, or null when fewer than <see cref="MinimumWindows"/> windows show a clear echo or their delays do
    /// not lie on a line (<see cref="MostOffLine"/>).
    /// </summary>
    public static EchoDrift? Estimate(ReadOnlyMemory<float> mic, ReadOnlyMemory<float> reference, int sampleRate, TimeSpan maxDelay)
    {
        var window = (int)(Window.TotalSeconds * sampleRate);
        var hop = (int)(Hop.TotalSeconds * sampleRate);
        var length = Math.Min(mic.Length, reference.Length);
        var count = length < window ? 0 : ((length - window) / hop) + 1;
        var peaks = new (double Lag, double PeakToNoise)[count];
        Parallel.For(0, count, w =>
        {
            var (_, lag, ratio) = EchoDelayEstimator.Peak(mic.Span.Slice(w * hop, window), reference.Span.Slice(w * hop, window), sampleRate, maxDelay);
            peaks[w] = (lag, ratio);
        });

        var times = new List<double>();
        var lags = new List<double>();
        for (var w = 0; w < count; w++)
        {
            if (peaks[w].PeakToNoise >= EchoDelayEstimator.PeakToNoiseThreshold)
            {
                times.Add((w * hop) + (window / 2.0));
                lags.Add(peaks[w].Lag);
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
        // Drifting clocks move the echo along a line; when the strongest path itself moves (someone stood between the
        // loudspeaker and the microphone and a reflection now outweighs the direct sound), the lags jump and a line
        // through them is a slope that is not there. Such a call is left without drift following, drift or not: one
        // line cannot follow it either way.
        var offLine = Median(times.Select((t, i) => Math.Abs(lags[i] - (intercept + (slope * t)))).ToList());
        return offLine > MostOffLine(slope, window) ? null : new EchoDrift(intercept, slope, times.Count);
    }

    /// <summary>
    /// How far (samples) the median window may lie from the drift line. A window's peak is refined between samples, but
    /// over the window the delay moves by the slope times its length, and the peak sits where the far end talked in it,
    /// up to half that from the delay at the window's centre (120 ppm: 7.7 samples over a 4 s window at 16 kHz, 23 at
    /// 48 kHz; talk in bursts put the median window 6.2 samples off at 48 kHz). That half is allowed, and never less than
    /// 2 samples.
    /// </summary>
    private static double MostOffLine(double slope, int window) => Math.Max(2, 0.5 * Math.Abs(slope) * window);

    private static double Median(List<double> values)
    {
        values.Sort();
        var middle = values.Count / 2;
        return values.Count % 2 == 1 ? values[middle] : 0.5 * (values[middle - 1] + values[middle]);
    }
}
