using SparkControl.Core.Audio.Echo;
using SparkControl.Core.Audio.Signal;

namespace SparkControl.Tests.Audio.Echo;

public sealed class EchoDspTests
{
    private static float[] Noise(int length, int seed, float scale = 0.1f)
    {
        var random = new Random(seed);
        var noise = new float[length];
        for (var i = 0; i < length; i++)
        {
            noise[i] = ((float)random.NextDouble() - 0.5f) * 2 * scale;
        }

        return noise;
    }

    [Fact]
    public void RealFft_RoundTrip_IsIdentityAndMatchesTheDft()
    {
        var fft = new RealFft(16);
        var samples = Noise(16, 1);
        var buffer = fft.NewBuffer();
        samples.CopyTo(buffer, 0);

        fft.Forward(buffer);
        for (var k = 0; k <= 8; k++)
        {
            double re = 0, im = 0;
            for (var n = 0; n < 16; n++)
            {
                re += samples[n] * Math.Cos(2 * Math.PI * k * n / 16);
                im -= samples[n] * Math.Sin(2 * Math.PI * k * n / 16);
            }

            Assert.Equal(re, buffer[2 * k], 1e-5);
            Assert.Equal(im, buffer[(2 * k) + 1], 1e-5);
        }

        fft.Inverse(buffer);
        for (var n = 0; n < 16; n++)
        {
            Assert.Equal(samples[n], buffer[n], 1e-6);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(37)]
    [InlineData(1920)]
    [InlineData(6400)]
    public void EchoDelayEstimator_DelayedNoise_FindsTheLag(int lag)
    {
        var far = Noise(48000, 2);
        var mic = new float[far.Length];
        var local = Noise(far.Length, 3, 0.02f);
        for (var i = 0; i < mic.Length; i++)
        {
            mic[i] = (i >= lag ? 0.5f * far[i - lag] : 0) + local[i];
        }

        var estimate = EchoDelayEstimator.Estimate(mic, far, 16000, TimeSpan.FromMilliseconds(500));

        Assert.True(estimate.HasEcho, $"peak-to-noise {estimate.PeakToNoise:0.0}");
        Assert.Equal(lag, estimate.Samples);
    }

    [Fact]
    public void EchoDelayEstimator_UnrelatedChannels_FindsNoEcho()
    {
        var estimate = EchoDelayEstimator.Estimate(Noise(48000, 4), Noise(48000, 5), 16000, TimeSpan.FromMilliseconds(500));

        Assert.False(estimate.HasEcho, $"peak-to-noise {estimate.PeakToNoise:0.0}");
        Assert.Equal(0, estimate.Samples);
    }

    [Fact]
    public void EchoDelayEstimator_SilentChannels_FindsNoEchoWithoutNaN()
    {
        var estimate = EchoDelayEstimator.Estimate(new float[1000], new float[1000], 16000, TimeSpan.FromMilliseconds(500));

        Assert.False(estimate.HasEcho);
        Assert.True(double.IsFinite(estimate.PeakToNoise));
    }

    [Fact]
    public void Cancel_WhiteNoiseThroughShortRoom_RemovesMostOfTheEcho()
    {
        var far = Noise(16000 * 6, 6);
        var room = new[] { 0.6f, 0.3f, -0.2f, 0.1f, 0.05f };
        var mic = new float[far.Length];
        var echo = new float[far.Length];
        for (var i = 0; i < far.Length; i++)
        {
            for (var k = 0; k < room.Length; k++)
            {
                var j = i - 800 - (k * 40);
                echo[i] += j >= 0 ? room[k] * far[j] : 0;
            }

            mic[i] = echo[i];
        }

        var result = EchoCanceller.Cancel(mic, far, 16000);
        var score = EchoMetrics.Score(mic, result.Output, new EchoGroundTruth(new float[mic.Length], echo, null, 16000));

        Assert.Equal(800, result.Delay.Samples);
        Assert.True(score.ErleFarEndDb > 30, $"ERLE {score.ErleFarEndDb:0.0} dB");
    }

    [Theory]
    [InlineData(8000, 128)]
    [InlineData(16000, 256)]
    [InlineData(44100, 512)]
    [InlineData(48000, 512)]
    public void ScaleBlock_OtherRates_KeepsAbout16Ms(int rate, int expected) => Assert.Equal(expected, EchoCanceller.ScaleBlock(256, rate));

    [Theory]
    [InlineData(8, 1, "the tail must be 16–1000 ms")]
    [InlineData(256, 3, "passes must be 1 or 2")]
    public void Validate_BadSettings_NamesTheProblem(int tailMs, int passes, string expected)
    {
        var problems = new EchoCancellerSettings { TailLength = TimeSpan.FromMilliseconds(tailMs), Passes = passes }.Validate();

        Assert.Contains(problems, p => p.Message.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Score_KnownSignals_ComputesTheTextbookRatios()
    {
        const int rate = 16000;
        var n = rate * 4;
        var local = new float[n];
        var echo = new float[n];
        var mic = new float[n];
        var output = new float[n];
        for (var i = 0; i < n; i++)
        {
            var t = (double)i / rate;
            echo[i] = t >= 3 ? 0.1f * MathF.Sin(i * 0.3f) : 0;          // echo in the last second
            local[i] = t is >= 1 and < 2 ? 0.2f * MathF.Sin(i * 0.05f) : 0; // near end alone in the second second
            mic[i] = local[i] + echo[i];
            output[i] = local[i] + (0.01f * echo[i]);                    // 40 dB of echo removed
        }

        var score = EchoMetrics.Score(mic, output, new EchoGroundTruth(local, echo, null, rate));

        Assert.Equal(40, score.ErleFarEndDb!.Value, 0.01);
        Assert.Equal(40, score.ErleNoiseFreeDb!.Value, 0.01);
        Assert.Equal(0, score.NearEndGainDb!.Value, 0.01);
        Assert.Null(score.SdrInDb);
        Assert.Equal(50, score.FarEndFrames);
        Assert.True(score.AllFinite);
    }
}
