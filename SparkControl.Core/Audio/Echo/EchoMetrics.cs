namespace SparkControl.Core.Audio.Echo;

/// <summary>The clean tracks of a synthetic call: what was said locally, the true echo, the noise (any may be silent).</summary>
public sealed record EchoGroundTruth(float[] Local, float[] Echo, float[]? Noise, int SampleRate);

/// <summary>
/// How well a canceller did on a call with known ground truth (dB). Null where the call has no frame of that kind.
/// </summary>
/// <param name="ErleFarEndDb">10 log10(Σ mic² / Σ out²) over far-end single-talk frames after <see cref="EchoMetrics.SettleTime"/>.</param>
/// <param name="ErleNoiseFreeDb">10 log10(Σ echo² / Σ (out − local − noise)²) over every echo frame after the settle time: the echo actually removed, noise aside, double talk included.</param>
/// <param name="SdrInDb">Near-end signal to distortion in double talk, microphone: Σ local² / Σ (mic − local)².</param>
/// <param name="SdrOutDb">The same for the output: Σ local² / Σ (out − local)².</param>
/// <param name="NearEndGainDb">10 log10(Σ out² / Σ mic²) over near-end single-talk frames (0 = local speech untouched).</param>
/// <param name="OverallGainDb">10 log10(Σ out² / Σ mic²) over the whole call.</param>
public sealed record EchoScore(
    double? ErleFarEndDb,
    double? ErleNoiseFreeDb,
    double? SdrInDb,
    double? SdrOutDb,
    double? NearEndGainDb,
    double OverallGainDb,
    bool AllFinite,
    int FarEndFrames,
    int DoubleTalkFrames,
    int NearEndFrames);

/// <summary>
/// Scores a canceller's output against the clean tracks. Frames are 20 ms; a track is active in a frame when the
/// frame's energy is within <see cref="ActivityRangeDb"/> of that track's loudest frame.
/// </summary>
public static class EchoMetrics
{
    public static readonly TimeSpan FrameLength = TimeSpan.FromMilliseconds(20);

    /// <summary>ERLE is measured after the filter has had this long (the convergence leak is the transcript pass's job).</summary>
    public static readonly TimeSpan SettleTime = TimeSpan.FromSeconds(3);

    public const double ActivityRangeDb = 35;

    public static EchoScore Score(ReadOnlySpan<float> mic, ReadOnlySpan<float> output, EchoGroundTruth truth)
    {
        var length = Math.Min(mic.Length, output.Length);
        var frame = (int)(FrameLength.TotalSeconds * truth.SampleRate);
        var frames = length / frame;
        var localActive = Active(truth.Local, frame, frames);
        var echoActive = Active(truth.Echo, frame, frames);
        var settleFrame = (int)(SettleTime.TotalSeconds * truth.SampleRate) / frame;

        Sums farEnd = default, noiseFree = default, doubleTalk = default, nearEnd = default, overall = default;
        int farEndFrames = 0, doubleTalkFrames = 0, nearEndFrames = 0;
        for (var f = 0; f < frames; f++)
        {
            var isFarEnd = echoActive[f] && !localActive[f];
            var isDoubleTalk = echoActive[f] && localActive[f];
            var isNearEnd = localActive[f] && !echoActive[f];
            farEndFrames += isFarEnd && f >= settleFrame ? 1 : 0;
            doubleTalkFrames += isDoubleTalk ? 1 : 0;
            nearEndFrames += isNearEnd ? 1 : 0;
            for (var i = f * frame; i < (f + 1) * frame; i++)
            {
                double d = mic[i], e = output[i], s = truth.Local[i], y = truth.Echo[i], v = truth.Noise?[i] ?? 0;
                overall.Add(d * d, e * e);
                if (f >= settleFrame && isFarEnd)
                {
                    farEnd.Add(d * d, e * e);
                }

                if (f >= settleFrame && echoActive[f])
                {
                    noiseFree.Add(y * y, (e - s - v) * (e - s - v));
                }

                if (isDoubleTalk)
                {
                    doubleTalk.Add(s * s, (d - s) * (d - s), (e - s) * (e - s));
                }

                if (isNearEnd)
                {
                    nearEnd.Add(d * d, e * e);
                }
            }
        }

        return new EchoScore(
            farEndFrames > 0 ? Db(farEnd.A, farEnd.B) : null,
            noiseFree.A > 0 ? Db(noiseFree.A, noiseFree.B) : null,
            doubleTalkFrames > 0 ? Db(doubleTalk.A, doubleTalk.B) : null,
            doubleTalkFrames > 0 ? Db(doubleTalk.A, doubleTalk.C) : null,
            nearEndFrames > 0 ? Db(nearEnd.B, nearEnd.A) : null,
            Db(overall.B, overall.A),
            AllFinite(output),
            farEndFrames,
            doubleTalkFrames,
            nearEndFrames);
    }

    private static bool AllFinite(ReadOnlySpan<float> samples)
    {
        foreach (var sample in samples)
        {
            if (!float.IsFinite(sample))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>10 log10(a / b), bounded to ±200 dB so silent tracks stay finite.</summary>
    public static double Db(double a, double b) => Math.Clamp(10 * Math.Log10((a + 1e-20) / (b + 1e-20)), -200, 200);

    internal static bool[] Active(ReadOnlySpan<float> track, int frame, int frames)
    {
        var energy = new double[frames];
        var loudest = 0.0;
        for (var f = 0; f < frames; f++)
        {
            for (var i = f * frame; i < (f + 1) * frame && i < track.Length; i++)
            {
                energy[f] += track[i] * (double)track[i];
            }

            loudest = Math.Max(loudest, energy[f]);
        }

        // Relative to the loudest frame, but never below -80 dBFS mean power (a silent track has no activity).
        var threshold = Math.Max(loudest * Math.Pow(10, -ActivityRangeDb / 10), frame * 1e-8);
        var active = new bool[frames];
        for (var f = 0; f < frames; f++)
        {
            active[f] = energy[f] >= threshold;
        }

        return active;
    }

    private struct Sums
    {
        public double A;
        public double B;
        public double C;

        public void Add(double a, double b, double c = 0)
        {
            A += a;
            B += b;
            C += c;
        }
    }
}
