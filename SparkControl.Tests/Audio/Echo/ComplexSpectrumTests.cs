using SparkControl.Core.Audio.Echo;
using SparkControl.Core.Audio.Signal;

namespace SparkControl.Tests.Audio.Echo;

/// <summary>
/// The adaptive filter's vector kernels against the scalar expressions they replace, bit for bit: a filter's output
/// must not depend on the machine's vector width (AVX2 here, NEON on the Sparks, none at all).
/// </summary>
public sealed class ComplexSpectrumTests
{
    private static float[] Values(int length, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() - 0.5) * 1e3 * Math.Pow(10, -3 * random.NextDouble())))];
    }

    // 257 bins is the filter's (512-point FFTs); the others leave each vector width a remainder, or fill no vector at all.
    public static TheoryData<int> BinCounts => [257, 256, 3, 1];

    [Theory]
    [MemberData(nameof(BinCounts))]
    public void MultiplyAdd_EveryBin_EqualsTheScalarProductExactly(int bins)
    {
        var w = Values(2 * bins, 1);
        var x = Values(2 * bins, 2);
        var target = Values(2 * bins, 3);
        var expected = (float[])target.Clone();
        for (var k = 0; k < bins; k++)
        {
            expected[2 * k] += (w[2 * k] * x[2 * k]) - (w[(2 * k) + 1] * x[(2 * k) + 1]);
            expected[(2 * k) + 1] += (w[2 * k] * x[(2 * k) + 1]) + (w[(2 * k) + 1] * x[2 * k]);
        }

        ComplexSpectrum.MultiplyAdd(w, x, target, bins);

        Assert.Equal(expected, target);
    }

    [Theory]
    [MemberData(nameof(BinCounts))]
    public void ConjugateMultiplyAdd_EveryBin_EqualsTheScalarUpdateExactly(int bins)
    {
        var x = Values(2 * bins, 4);
        var e = Values(2 * bins, 5);
        var scale = Values(bins, 6);
        var w = Values(2 * bins, 7);
        var expected = (float[])w.Clone();
        for (var k = 0; k < bins; k++)
        {
            float xr = x[2 * k], xi = x[(2 * k) + 1], er = e[2 * k], ei = e[(2 * k) + 1];
            expected[2 * k] += ((xr * er) + (xi * ei)) * scale[k];
            expected[(2 * k) + 1] += ((xr * ei) - (xi * er)) * scale[k];
        }

        var swapped = new float[2 * bins];
        var pairs = new float[2 * bins];
        ComplexSpectrum.PrepareConjugateProduct(e, scale, swapped, pairs, bins);
        ComplexSpectrum.ConjugateMultiplyAdd(x, e, swapped, pairs, w, bins);

        Assert.Equal(expected, w);
    }

    [Fact]
    public void MultiplyAdd_ASpectrumShorterThanItsBins_IsRefused()
    {
        var ex = Assert.Throws<ArgumentException>(() => ComplexSpectrum.MultiplyAdd(new float[514], new float[512], new float[514], 257));

        Assert.Contains("514 floats", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cancel_RunAgain_GivesTheSameOutputBitForBit()
    {
        // A call long enough for every stage that runs side by side: the drift's windows, the backward pass beside the
        // replays, the path-change search and the trainings on each side of the change it finds (at 8 s of 16 the direct
        // path weakens and a reflection moves).
        const int rate = 16000;
        var far = Values(rate * 16, 8).Select(v => v * 1e-4f).ToArray();
        var mic = new float[far.Length];
        for (var i = 900; i < mic.Length; i++)
        {
            var (direct, reflection, lag) = i < rate * 8 ? (0.5f, 0.2f, 840) : (0.3f, -0.25f, 900);
            mic[i] = (direct * far[i - 800]) + (reflection * far[i - lag]);
        }

        var first = EchoCanceller.Cancel(mic, far, rate);
        var second = EchoCanceller.Cancel(mic, far, rate);

        Assert.NotNull(first.PathChange);
        Assert.Equal(first.PathChange, second.PathChange);
        Assert.Equal(first.Output, second.Output);
    }
}
