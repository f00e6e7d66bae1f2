using SparkControl.Core.Audio.Echo;

namespace SparkControl.Tests.Audio.Echo;

/// <summary>
/// The loudspeaker curve on synthetic Hammerstein echoes: a talker-like far end (noise in syllable bursts with a
/// spread of loudness), bent by a known curve, through a known room. The fault calls (EchoFaultCallTests) cover the
/// same on espeak speech through make-echo-call.sh.
/// </summary>
public sealed class LoudspeakerCurveTests
{
    private const int Rate = 16000;
    private const int Frame = 2048;

    /// <summary>Bursts of 150 ms at a random loudness each, with 50 ms gaps: peaks well above the median, as in speech.</summary>
    private static float[] Talker(int seconds, int seed)
    {
        var random = new Random(seed);
        var x = new float[seconds * Rate];
        for (var start = 0; start < x.Length; start += 3200)
        {
            var loudness = 0.02 + (0.2 * random.NextDouble() * random.NextDouble());
            for (var i = start; i < Math.Min(x.Length, start + 2400); i++)
            {
                x[i] = (float)(loudness * Gaussian(random));
            }
        }

        return x;
    }

    private static double Gaussian(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>A room of 300 taps: a direct tap and a decaying random tail.</summary>
    private static float[] Room(int seed)
    {
        var random = new Random(seed);
        var h = new float[300];
        h[0] = 0.5f;
        for (var i = 1; i < h.Length; i++)
        {
            h[i] = (float)(0.1 * Gaussian(random) * Math.Exp(-i / 60.0));
        }

        return h;
    }

    private static float[] Through(float[] room, float[] x, Func<float, float> loudspeaker)
    {
        var y = new float[x.Length];
        for (var n = 0; n < x.Length; n++)
        {
            double sum = 0;
            for (var k = 0; k < room.Length && k <= n; k++)
            {
                sum += room[k] * loudspeaker(x[n - k]);
            }

            y[n] = (float)sum;
        }

        return y;
    }

    private static float[] Plus(float[] a, float[] b) => [.. a.Select((v, i) => v + b[i])];

    private static float Clip(float x, float below, float above) => Math.Clamp(x, -below, above);

    [Fact]
    public void Fit_HardClippingLoudspeaker_FindsTheClipLevel()
    {
        var x = Talker(20, 1);
        var d = Plus(Through(Room(2), x, v => Clip(v, 0.15f, 0.15f)), Talker(20, 3).Select(v => v * 0.01f).ToArray());

        var curve = LoudspeakerCurve.Fit(x, d, Frame);

        Assert.NotNull(curve);
        Assert.True(curve.Worthwhile, $"gain {curve.GainDb:0.00} dB");
        Assert.True(curve.GainDb > 6, $"gain {curve.GainDb:0.00} dB");
        // Up to the clip level the curve rises; above it, it is (nearly) flat, on both sides.
        var slopeBelow = curve.Map(0.1f) / 0.1f;
        Assert.True(slopeBelow > 0, $"slope below {slopeBelow:0.00}");
        Assert.InRange((curve.Map(0.4f) - curve.Map(0.2f)) / 0.2f, -0.15 * slopeBelow, 0.15 * slopeBelow);
        Assert.InRange((curve.Map(-0.4f) - curve.Map(-0.2f)) / -0.2f, -0.15 * slopeBelow, 0.15 * slopeBelow);
    }

    [Fact]
    public void Fit_AsymmetricClipping_BendsOneHalfOfTheWaveMore()
    {
        // A biased driver: the positive half clips at 0.1, the negative at 0.3.
        var x = Talker(20, 4);
        var d = Through(Room(5), x, v => Clip(v, 0.3f, 0.1f));

        var curve = LoudspeakerCurve.Fit(x, d, Frame);

        Assert.NotNull(curve);
        Assert.True(curve.Worthwhile, $"gain {curve.GainDb:0.00} dB");
        var slope = curve.Map(0.05f) / 0.05f;
        Assert.InRange(curve.Map(0.4f) / slope, 0.08, 0.13);
        Assert.InRange(curve.Map(-0.4f) / slope, -0.33, -0.25);
    }

    [Fact]
    public void Fit_LinearLoudspeakerUnderLouderNearEndSpeech_IsNotWorthwhile()
    {
        // The neighbour of the clipping case: no nonlinearity, and a local talker as loud as the far end (the echo is at
        // half its level) for one second in every four.
        var x = Talker(20, 6);
        var local = Talker(20, 7);
        for (var i = 0; i < local.Length; i++)
        {
            local[i] *= i / (2 * Rate) % 2 == 1 ? 0 : (i % (2 * Rate) >= Rate ? 1 : 0);
        }

        var d = Plus(Through(Room(8), x, v => v), local);

        var curve = LoudspeakerCurve.Fit(x, d, Frame);

        Assert.NotNull(curve);
        Assert.False(curve.Worthwhile, $"gain {curve.GainDb:0.00} dB");
        Assert.InRange(curve.Map(0.3f) / curve.Map(0.03f), 9, 11);
    }

    [Fact]
    public void Fit_ClippingUnderNearEndSpeech_StillFindsTheClipLevel()
    {
        var x = Talker(20, 9);
        var local = Talker(20, 10);
        for (var i = 0; i < local.Length; i++)
        {
            local[i] *= i % (2 * Rate) >= Rate ? 2 : 0;
        }

        var d = Plus(Through(Room(11), x, v => Clip(v, 0.15f, 0.15f)), local);

        var curve = LoudspeakerCurve.Fit(x, d, Frame);

        Assert.NotNull(curve);
        Assert.True(curve.Worthwhile, $"gain {curve.GainDb:0.00} dB");
        var slopeBelow = curve.Map(0.1f) / 0.1f;
        Assert.InRange((curve.Map(0.4f) - curve.Map(0.2f)) / 0.2f, -0.2 * slopeBelow, 0.2 * slopeBelow);
    }

    [Fact]
    public void Fit_FarEndBarelyTalks_GivesNoCurve()
    {
        // A third of a second of the far end touches 7 frames; a fit needs 8.
        var x = new float[20 * Rate];
        Talker(1, 12).AsSpan(0, Rate / 3).CopyTo(x.AsSpan(5 * Rate));
        var d = Through(Room(13), x, v => Clip(v, 0.15f, 0.15f));

        Assert.Null(LoudspeakerCurve.Fit(x, d, Frame));
        Assert.Null(LoudspeakerCurve.Fit(new float[Frame / 2], new float[Frame / 2], Frame));
        Assert.Null(LoudspeakerCurve.Fit(new float[20 * Rate], new float[20 * Rate], Frame));
    }
}
