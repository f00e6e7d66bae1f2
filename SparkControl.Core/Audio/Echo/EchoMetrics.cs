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
/// <param name="ErleEchoFarEndDb">10 log10(Σ echo² / Σ (out − local − noise)²) over far-end single-talk frames after the settle time: far-end ERLE with the noise taken out, which noise otherwise caps at the echo-to-noise ratio.</param>
/// <param name="NearEndAloneSdrInDb">Near-end signal to distortion where the near end speaks alone, microphone: Σ local² / Σ (mic − local)².</param>
/// <param name="NearEndAloneSdrOutDb">The same for the output.</param>
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
    int NearEndFrames,
    double? ErleEchoFarEndDb = null,
    double? NearEndAloneSdrInDb = null,
    double? NearEndAloneSdrOutDb = null);

/// <summary>How the canceller recovered from an echo-path change (see <see cref="EchoMetrics.Reconvergence"/>).</summary>
/// <param name="BeforeDb">Echo-only ERLE over the 10 s before the change.</param>
/// <param name="Time">From the change until a 0.5 s window's echo-only ERLE is back within 3 dB of <paramref name="BeforeDb"/>; null if it never is.</param>
/// <param name="AfterDb">Echo-only ERLE from that moment to the end of the call.</param>
public sealed record EchoReconvergence(double BeforeDb, TimeSpan? Time, double? AfterDb);

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

        Sums farEnd = default, farEndEcho = default, noiseFree = default, doubleTalk = default, nearEnd = default, overall = default;
        Sums nearEndAlone = default;
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
                    farEndEcho.Add(y * y, (e - s - v) * (e - s - v));
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
                    nearEndAlone.Add(s * s, (d - s) * (d - s), (e - s) * (e - s));
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
            nearEndFrames,
            farEndFrames > 0 ? Db(farEndEcho.A, farEndEcho.B) : null,
            nearEndFrames > 0 ? Db(nearEndAlone.A, nearEndAlone.B) : null,
            nearEndFrames > 0 ? Db(nearEndAlone.A, nearEndAlone.C) : null);
    }

    /// <summary>
    /// Recovery from an echo-path change at <paramref name="change"/>: the echo-only ERLE (Σ echo² / Σ (out − local −
    /// noise)², over echo frames) of the 10 s before, then, from the change on, 0.5 s windows stepped by a frame
    /// (windows with under 5 echo frames skipped) until one is back within 3 dB of it.
    /// </summary>
    public static EchoReconvergence Reconvergence(ReadOnlySpan<float> output, EchoGroundTruth truth, TimeSpan change)
    {
        var frame = (int)(FrameLength.TotalSeconds * truth.SampleRate);
        var frames = Math.Min(output.Length, truth.Echo.Length) / frame;
        var echoActive = Active(truth.Echo, frame, frames);
        var echo = new double[frames];
        var residual = new double[frames];
        for (var f = 0; f < frames; f++)
        {
            for (var i = f * frame; i < (f + 1) * frame; i++)
            {
                double y = truth.Echo[i], r = output[i] - truth.Local[i] - (truth.Noise?[i] ?? 0);
                echo[f] += y * y;
                residual[f] += r * r;
            }
        }

        double Erle(int from, int to, out int counted)
        {
            double a = 0, b = 0;
            counted = 0;
            for (var f = Math.Max(0, from); f < Math.Min(frames, to); f++)
            {
                if (echoActive[f])
                {
                    a += echo[f];
                    b += residual[f];
                    counted++;
                }
            }

            return Db(a, b);
        }

        var changeFrame = (int)(change.TotalSeconds * truth.SampleRate) / frame;
        var before = Erle(changeFrame - (int)(10 / FrameLength.TotalSeconds), changeFrame, out _);
        var window = (int)(0.5 / FrameLength.TotalSeconds);
        for (var f = changeFrame; f + window <= frames; f++)
        {
            var level = Erle(f, f + window, out var counted);
            if (counted >= 5 && level >= before - 3)
            {
                return new EchoReconvergence(before, (f + window - changeFrame) * FrameLength, Erle(f, frames, out _));
            }
        }

        return new EchoReconvergence(before, null, null);
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
