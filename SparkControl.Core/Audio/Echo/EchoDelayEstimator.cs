using SparkControl.Core.Audio.Signal;

namespace SparkControl.Core.Audio.Echo;

/// <summary>The bulk echo delay: how far the microphone lags the far-end reference, and whether an echo is there at all.</summary>
/// <param name="Samples">Lag of the strongest correlation peak, in samples (0 when no echo was found).</param>
/// <param name="PeakToNoise">Height of that peak over the RMS of the rest of the searched lags (about 4 for unrelated signals).</param>
/// <param name="HasEcho">Whether the peak is clear enough to call the channels coherent (<see cref="EchoDelayEstimator.PeakToNoiseThreshold"/>).</param>
public sealed record EchoDelayEstimate(int Samples, int SampleRate, double PeakToNoise, bool HasEcho)
{
    public TimeSpan Delay => TimeSpan.FromSeconds((double)Samples / SampleRate);
}

/// <summary>
/// GCC-PHAT over the whole file: the cross-spectra of the reference and the microphone are summed over long
/// segments, whitened (phase transform), and transformed back; the peak lag is the bulk delay. Whitening makes
/// the peak sharp for speech, and summing before whitening lets loud segments count more than silent ones.
/// </summary>
public static class EchoDelayEstimator
{
    /// <summary>
    /// Peak-to-noise ratio above which the channels count as coherent. The largest of n unrelated Gaussian lags sits
    /// about sqrt(2 ln n) (≈ 4.2 for 8000 lags) RMS above the rest; an echo with a direct path stands far higher.
    /// </summary>
    public const double PeakToNoiseThreshold = 8;

    public static EchoDelayEstimate Estimate(ReadOnlySpan<float> mic, ReadOnlySpan<float> reference, int sampleRate, TimeSpan maxDelay)
    {
        var (best, _, ratio) = Peak(mic, reference, sampleRate, maxDelay);
        var hasEcho = ratio >= PeakToNoiseThreshold;
        return new EchoDelayEstimate(hasEcho ? best : 0, sampleRate, ratio, hasEcho);
    }

    /// <summary>
    /// The GCC-PHAT peak between 0 and <paramref name="maxDelay"/>: its lag in whole samples, the same refined between
    /// samples by a parabola through the peak and its neighbours, and its height over the other lags' RMS.
    /// </summary>
    internal static (int Best, double Lag, double PeakToNoise) Peak(ReadOnlySpan<float> mic, ReadOnlySpan<float> reference, int sampleRate, TimeSpan maxDelay)
    {
        var length = Math.Min(mic.Length, reference.Length);
        var maxLag = (int)Math.Clamp(Math.Round(maxDelay.TotalSeconds * sampleRate), 1, Math.Max(1, length - 1));
        // Segments at least twice the longest lag, so every lag overlaps by half a segment or more.
        var segment = 1;
        while (segment < Math.Max(4096, 2 * maxLag))
        {
            segment <<= 1;
        }

        var fft = new RealFft(segment * 2);
        var correlation = Whiten(fft, CrossSpectrum(fft, mic, reference, length, segment));
        fft.Inverse(correlation);
        var best = 0;
        for (var lag = 1; lag <= maxLag; lag++)
        {
            if (Math.Abs(correlation[lag]) > Math.Abs(correlation[best]))
            {
                best = lag;
            }
        }

        var fraction = 0.0;
        if (best > 0 && best < maxLag)
        {
            double left = Math.Abs(correlation[best - 1]), middle = Math.Abs(correlation[best]), right = Math.Abs(correlation[best + 1]);
            var curvature = left - (2 * middle) + right;
            fraction = curvature < 0 ? Math.Clamp(0.5 * (left - right) / curvature, -0.5, 0.5) : 0;
        }

        return (best, best + fraction, PeakToNoise(correlation, best, maxLag, sampleRate));
    }

    /// <summary>The sum over segments of conj(X)·D: its inverse peaks at the lag by which the microphone trails the reference.</summary>
    private static double[] CrossSpectrum(RealFft fft, ReadOnlySpan<float> mic, ReadOnlySpan<float> reference, int length, int segment)
    {
        var bins = fft.Bins;
        var sum = new double[bins * 2];
        var far = fft.NewBuffer();
        var near = fft.NewBuffer();
        for (var start = 0; start < Math.Max(1, length); start += segment)
        {
            var count = Math.Min(segment, length - start);
            if (count <= 0)
            {
                break;
            }

            Array.Clear(far);
            Array.Clear(near);
            reference.Slice(start, count).CopyTo(far);
            mic.Slice(start, count).CopyTo(near);
            fft.Forward(far);
            fft.Forward(near);
            for (var k = 0; k < bins; k++)
            {
                double xr = far[2 * k], xi = far[(2 * k) + 1], dr = near[2 * k], di = near[(2 * k) + 1];
                sum[2 * k] += (xr * dr) + (xi * di);
                sum[(2 * k) + 1] += (xr * di) - (xi * dr);
            }
        }

        return sum;
    }

    /// <summary>The phase transform: every bin scaled to unit magnitude (bins below a floor left at zero), so the peak is sharp whatever the speech's spectrum.</summary>
    private static float[] Whiten(RealFft fft, double[] sum)
    {
        var bins = fft.Bins;
        var whitened = fft.NewBuffer();
        var peakMagnitude = 0.0;
        for (var k = 0; k < bins; k++)
        {
            peakMagnitude = Math.Max(peakMagnitude, Math.Sqrt((sum[2 * k] * sum[2 * k]) + (sum[(2 * k) + 1] * sum[(2 * k) + 1])));
        }

        var floor = peakMagnitude * 1e-9;
        for (var k = 0; k < bins; k++)
        {
            var magnitude = Math.Sqrt((sum[2 * k] * sum[2 * k]) + (sum[(2 * k) + 1] * sum[(2 * k) + 1]));
            if (magnitude > floor)
            {
                whitened[2 * k] = (float)(sum[2 * k] / magnitude);
                whitened[(2 * k) + 1] = (float)(sum[(2 * k) + 1] / magnitude);
            }
        }

        return whitened;
    }

    /// <summary>The peak over the noise level: RMS of the searched lags away from the peak (the room's own reflections sit close to it).</summary>
    private static double PeakToNoise(float[] correlation, int best, int maxLag, int sampleRate)
    {
        var guard = Math.Max(8, sampleRate / 250);
        double energy = 0;
        var n = 0;
        for (var lag = 0; lag <= maxLag; lag++)
        {
            if (Math.Abs(lag - best) > guard)
            {
                energy += correlation[lag] * (double)correlation[lag];
                n++;
            }
        }

        var rms = n == 0 ? 0 : Math.Sqrt(energy / n);
        var ratio = rms > 0 ? Math.Abs(correlation[best]) / rms : 0;
        return double.IsFinite(ratio) ? ratio : 0;
    }
}
