using SparkControl.Core.Audio.Signal;

namespace SparkControl.Core.Audio.Echo;

/// <summary>
/// The loudspeaker's own nonlinearity (clipping, compression, overdrive), fitted from the call: the echo is taken to
/// be an unknown linear room applied to g(far end), where g is memoryless and piecewise linear,
/// <c>g(x) = x + Σ odd_k·sign(x)·max(|x| − t_k, 0) + Σ even_k·max(|x| − t_k, 0)</c>, with knots t_k at fixed
/// quantiles of the far end's level. The odd terms bend both halves of the wave alike (clipping, compression), the even
/// terms one half more than the other (a biased drive such as an overdrive's). A linear canceller run on g(far end)
/// instead of the far end sees a linear echo again (a Hammerstein system: the nonlinearity before the room).
/// </summary>
/// <remarks>
/// <para>The fit alternates two least-squares problems over long frames (Welch cross-spectra, Hann windows, frames
/// twice the tail, half overlapping): given the curve, the room is the Wiener filter from g(x) to the microphone, bin by
/// bin; given the room, the curve's weights solve a small normal-equation system. Both need only the cross-spectra of
/// the basis functions and the microphone, summed once over the call, so each round costs little.</para>
/// <para>Only frames where the far end talks alone take part: those where the linear fit from the far end leaves
/// under half of the microphone. Near-end speech is not correlated with the far end, so it cannot steer the fit, but
/// where it is louder than the echo it buries the few percent the curve explains.</para>
/// </remarks>
internal sealed class LoudspeakerCurve
{
    /// <summary>Knots at these quantiles of |x| over the frames where the far end talks alone.</summary>
    private static ReadOnlySpan<double> KnotQuantiles => [0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.995];

    /// <summary>Alternations of room and curve; the residual no longer moves after a few.</summary>
    private const int Rounds = 6;

    /// <summary>A frame is far-end single talk when the linear fit leaves under this share of its microphone energy.</summary>
    private const double FarEndShare = 0.5;

    /// <summary>Frames of far-end single talk needed for a fit: at 16 kHz and the default 256 ms tail, 2.3 s (half-overlapping 512 ms frames).</summary>
    private const int MinimumFrames = 8;

    /// <summary>
    /// The curve is used when it leaves this much less of the far-end frames unexplained than the room alone (7%). On
    /// the test calls without a nonlinearity the fit gains 0.00–0.2 dB (babble at 5 dB SNR the most); on the clipping
    /// calls 1–6 dB, and 0.5 dB on the one that also drifts, changes path and is noisy.
    /// </summary>
    public const double MinimumGainDb = 0.3;

    private LoudspeakerCurve(double[] knots, double[] odd, double[] even, double gainDb)
    {
        Knots = knots;
        Odd = odd;
        Even = even;
        GainDb = gainDb;
    }

    public IReadOnlyList<double> Knots { get; }

    public IReadOnlyList<double> Odd { get; }

    public IReadOnlyList<double> Even { get; }

    /// <summary>How much less of the far-end frames the room leaves unexplained with the curve than without it (dB).</summary>
    public double GainDb { get; }

    /// <summary>Whether the curve explains enough to be used (<see cref="MinimumGainDb"/>).</summary>
    public bool Worthwhile => GainDb >= MinimumGainDb;

    public float Map(float x)
    {
        double y = x;
        var magnitude = Math.Abs(x);
        for (var k = 0; k < Knots.Count; k++)
        {
            var over = magnitude - Knots[k];
            if (over > 0)
            {
                y += (Odd[k] * Math.Sign(x) * over) + (Even[k] * over);
            }
        }

        return (float)y;
    }

    public float[] Map(ReadOnlySpan<float> reference)
    {
        var mapped = new float[reference.Length];
        for (var i = 0; i < reference.Length; i++)
        {
            mapped[i] = Map(reference[i]);
        }

        return mapped;
    }

    /// <summary>
    /// Fits the curve to the far end <paramref name="x"/>, aligned with the echo, and the microphone <paramref name="d"/>
    /// over frames of <paramref name="frameSize"/> samples (a power of two); null when the far end talks alone for too
    /// little of the call to tell.
    /// </summary>
    public static LoudspeakerCurve? Fit(ReadOnlySpan<float> x, ReadOnlySpan<float> d, int frameSize)
    {
        var hop = frameSize / 2;
        var frames = x.Length < frameSize ? 0 : ((x.Length - frameSize) / hop) + 1;
        var energies = EchoRegularization.FrameEnergies(x, frameSize, hop, frames);

        var loudest = frames == 0 ? 0 : energies.Max();
        var heard = Enumerable.Range(0, frames).Where(f => energies[f] > 1e-3 * loudest && loudest > 0).ToArray();
        var fft = new RealFft(frameSize);
        var bins = fft.Bins;
        var window = new float[frameSize];
        for (var i = 0; i < frameSize; i++)
        {
            window[i] = (float)(0.5 - (0.5 * Math.Cos(2 * Math.PI * i / frameSize)));
        }

        heard = FarEndFrames(x, d, heard, hop, fft, window);
        if (heard.Length < MinimumFrames)
        {
            return null;
        }

        var knots = PlaceKnots(x, heard, hop, frameSize);
        var spectra = CrossSpectra.Sum(x, d, heard, hop, knots, fft, window);
        var (weights, gainDb) = Alternate(spectra);
        return new LoudspeakerCurve(knots, weights[1..(1 + knots.Length)], weights[(1 + knots.Length)..], gainDb);
    }

    /// <summary>The basis functions' cross-spectra with each other and with the microphone, summed over the far-end frames.</summary>
    private sealed class CrossSpectra(int bases, int bins)
    {
        public int Bases { get; } = bases;

        public int Bins { get; } = bins;

        /// <summary>Per bin, Re Σ conj(Φ_j)·Φ_k (bases × bases, symmetric).</summary>
        public double[] Cross { get; } = new double[bins * bases * bases];

        /// <summary>Per bin, Σ conj(Φ_k)·D.</summary>
        public double[] WithMicRe { get; } = new double[bins * bases];

        public double[] WithMicIm { get; } = new double[bins * bases];

        public double[] MicPower { get; } = new double[bins];

        public double At(int j, int k, int b) => Cross[(((b * Bases) + j) * Bases) + k];

        public static CrossSpectra Sum(ReadOnlySpan<float> x, ReadOnlySpan<float> d, int[] heard, int hop, double[] knots, RealFft fft, float[] window)
        {
            var frameSize = fft.Size;
            var bins = fft.Bins;
            var bases = 1 + (2 * knots.Length);

            // Summed over the frames, interleaved (re·re, im·im) products: for each pair j ≤ k of basis functions, and for
            // each basis function with the microphone (the real part of conj(Φ)·D) and with the microphone turned a quarter
            // (its imaginary part). Adding the two halves of a bin gives the bin's value.
            var pairs = bases * (bases + 1) / 2;
            var sums = new float[pairs + (2 * bases) + 1][];
            for (var p = 0; p < sums.Length; p++)
            {
                sums[p] = new float[2 * bins];
            }

            var spectra = new float[bases][];
            for (var k = 0; k < bases; k++)
            {
                spectra[k] = fft.NewBuffer();
            }

            var mic = fft.NewBuffer();
            var quarter = fft.NewBuffer();
            foreach (var f in heard)
            {
                var start = f * hop;
                for (var i = 0; i < frameSize; i++)
                {
                    var s = x[start + i];
                    var w = window[i];
                    var magnitude = Math.Abs(s);
                    spectra[0][i] = w * s;
                    for (var k = 0; k < knots.Length; k++)
                    {
                        var over = magnitude > knots[k] ? magnitude - (float)knots[k] : 0;
                        spectra[1 + k][i] = w * MathF.Sign(s) * over;
                        spectra[1 + knots.Length + k][i] = w * over;
                    }

                    mic[i] = w * d[start + i];
                }

                for (var k = 0; k < bases; k++)
                {
                    fft.Forward(spectra[k]);
                }

                fft.Forward(mic);
                for (var b = 0; b < bins; b++)
                {
                    quarter[2 * b] = mic[(2 * b) + 1];
                    quarter[(2 * b) + 1] = -mic[2 * b];
                }

                var pair = 0;
                for (var j = 0; j < bases; j++)
                {
                    for (var k = j; k < bases; k++)
                    {
                        AddProducts(spectra[j], spectra[k], sums[pair++]);
                    }
                }

                for (var j = 0; j < bases; j++)
                {
                    AddProducts(spectra[j], mic, sums[pairs + j]);
                    AddProducts(spectra[j], quarter, sums[pairs + bases + j]);
                }

                AddProducts(mic, mic, sums[^1]);
            }

            // Per bin: the bases' real cross-power matrix, and each basis's complex cross-power with the microphone.
            var result = new CrossSpectra(bases, bins);
            var cross = result.Cross;
            var withMicRe = result.WithMicRe;
            var withMicIm = result.WithMicIm;
            var micPower = result.MicPower;
            for (var b = 1; b < bins; b++)
            {
                var pair = 0;
                for (var j = 0; j < bases; j++)
                {
                    for (var k = j; k < bases; k++)
                    {
                        var value = sums[pair][2 * b] + (double)sums[pair][(2 * b) + 1];
                        cross[(((b * bases) + j) * bases) + k] = value;
                        cross[(((b * bases) + k) * bases) + j] = value;
                        pair++;
                    }

                    withMicRe[(b * bases) + j] = sums[pairs + j][2 * b] + (double)sums[pairs + j][(2 * b) + 1];
                    withMicIm[(b * bases) + j] = sums[pairs + bases + j][2 * b] + (double)sums[pairs + bases + j][(2 * b) + 1];
                }

                micPower[b] = sums[^1][2 * b] + (double)sums[^1][(2 * b) + 1];
            }

            return result;
        }
    }

    /// <summary>Alternates room and curve; the weights (the first, the linear term, is 1) and how much the curve gained (dB).</summary>
    private static (double[] Weights, double GainDb) Alternate(CrossSpectra spectra)
    {
        var bases = spectra.Bases;
        var bins = spectra.Bins;
        var withMicRe = spectra.WithMicRe;
        var withMicIm = spectra.WithMicIm;
        var micPower = spectra.MicPower;
        var a = new double[bases];
        a[0] = 1;
        var roomRe = new double[bins];
        var roomIm = new double[bins];
        double? before = null;
        double residual = 0;
        for (var round = 0; round < Rounds; round++)
        {
            // The room given the curve: H = Σ a_k S_kD / aᵀ S a, bin by bin.
            residual = 0;
            for (var b = 1; b < bins; b++)
            {
                double power = 0, re = 0, im = 0;
                for (var j = 0; j < bases; j++)
                {
                    if (a[j] == 0)
                    {
                        continue;
                    }

                    re += a[j] * withMicRe[(b * bases) + j];
                    im += a[j] * withMicIm[(b * bases) + j];
                    for (var k = 0; k < bases; k++)
                    {
                        power += a[j] * a[k] * spectra.At(j, k, b);
                    }
                }

                roomRe[b] = power > 0 ? re / power : 0;
                roomIm[b] = power > 0 ? im / power : 0;
                // Never below zero: the sums are single precision, and a bin fitted almost exactly could round under it.
                residual += Math.Max(0, micPower[b] - (power > 0 ? ((re * re) + (im * im)) / power : 0));
            }

            before ??= residual;
            if (round == Rounds - 1)
            {
                break;
            }

            // The curve given the room: minimise Σ|D − H·Σ a_k Φ_k|² over a_1.., a_0 = 1.
            var free = bases - 1;
            var m = new double[free, free];
            var rhs = new double[free];
            for (var b = 1; b < bins; b++)
            {
                var gain = (roomRe[b] * roomRe[b]) + (roomIm[b] * roomIm[b]);
                for (var j = 1; j < bases; j++)
                {
                    // Re(conj(H)·S_jD) − |H|²·Re S_j0
                    rhs[j - 1] += (roomRe[b] * withMicRe[(b * bases) + j]) + (roomIm[b] * withMicIm[(b * bases) + j]) - (gain * spectra.At(j, 0, b));
                    for (var k = 1; k < bases; k++)
                    {
                        m[j - 1, k - 1] += gain * spectra.At(j, k, b);
                    }
                }
            }

            var solved = Solve(m, rhs);
            if (solved is null)
            {
                break;
            }

            for (var k = 1; k < bases; k++)
            {
                a[k] = solved[k - 1];
            }
        }

        return (a, before is { } linear && linear > 0 && residual > 0 ? 10 * Math.Log10(linear / residual) : 0);
    }


    /// <summary>into[i] += a[i]·b[i] over the length of <paramref name="into"/>.</summary>
    private static void AddProducts(float[] a, float[] b, float[] into)
    {
        var i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            var width = System.Numerics.Vector<float>.Count;
            for (; i <= into.Length - width; i += width)
            {
                var sum = new System.Numerics.Vector<float>(into, i) + (new System.Numerics.Vector<float>(a, i) * new System.Numerics.Vector<float>(b, i));
                sum.CopyTo(into, i);
            }
        }

        for (; i < into.Length; i++)
        {
            into[i] += a[i] * b[i];
        }
    }

    /// <summary>The frames where the linear fit from the far end explains most of the microphone: the far end talks alone there.</summary>
    private static int[] FarEndFrames(ReadOnlySpan<float> x, ReadOnlySpan<float> d, int[] heard, int hop, RealFft fft, float[] window)
    {
        var bins = fft.Bins;
        var far = fft.NewBuffer();
        var mic = fft.NewBuffer();
        var crossRe = new double[bins];
        var crossIm = new double[bins];
        var farPower = new double[bins];
        foreach (var f in heard)
        {
            Transform(x, d, f * hop, fft, window, far, mic);
            for (var b = 1; b < bins; b++)
            {
                double xr = far[2 * b], xi = far[(2 * b) + 1], dr = mic[2 * b], di = mic[(2 * b) + 1];
                crossRe[b] += (xr * dr) + (xi * di);
                crossIm[b] += (xr * di) - (xi * dr);
                farPower[b] += (xr * xr) + (xi * xi);
            }
        }

        // The frames again (transformed anew rather than kept: a long call's spectra would take tens of megabytes).
        var kept = new List<int>();
        foreach (var f in heard)
        {
            Transform(x, d, f * hop, fft, window, far, mic);
            double left = 0, total = 0;
            for (var b = 1; b < bins; b++)
            {
                var hr = farPower[b] > 0 ? crossRe[b] / farPower[b] : 0;
                var hi = farPower[b] > 0 ? crossIm[b] / farPower[b] : 0;
                double xr = far[2 * b], xi = far[(2 * b) + 1], dr = mic[2 * b], di = mic[(2 * b) + 1];
                var er = dr - ((hr * xr) - (hi * xi));
                var ei = di - ((hr * xi) + (hi * xr));
                left += (er * er) + (ei * ei);
                total += (dr * dr) + (di * di);
            }

            if (total > 0 && left < FarEndShare * total)
            {
                kept.Add(f);
            }
        }

        return [.. kept];
    }

    private static void Transform(ReadOnlySpan<float> x, ReadOnlySpan<float> d, int start, RealFft fft, float[] window, float[] far, float[] mic)
    {
        for (var i = 0; i < fft.Size; i++)
        {
            far[i] = window[i] * x[start + i];
            mic[i] = window[i] * d[start + i];
        }

        fft.Forward(far);
        fft.Forward(mic);
    }

    private static double[] PlaceKnots(ReadOnlySpan<float> x, int[] heard, int hop, int frameSize)
    {
        // Every sample up to a million of them; a long call is read at a stride (quantiles do not need them all).
        var stride = Math.Max(1, ((long)heard.Length * hop) >> 20);
        var levels = new List<float>();
        var last = -1;
        foreach (var f in heard)
        {
            var from = Math.Max(f * hop, last + 1);
            var to = (f * hop) + frameSize - 1;
            for (var i = from; i <= to; i += (int)stride)
            {
                levels.Add(Math.Abs(x[i]));
            }

            last = to;
        }

        if (levels.Count == 0)
        {
            return [];
        }

        levels.Sort();
        var knots = new List<double>();
        foreach (var q in KnotQuantiles)
        {
            var level = levels[(int)Math.Round(q * (levels.Count - 1))];
            if (level > 0 && (knots.Count == 0 || level > knots[^1] * 1.01))
            {
                knots.Add(level);
            }
        }

        return [.. knots];
    }

    /// <summary>Gaussian elimination with partial pivoting and a touch of ridge; null when singular.</summary>
    private static double[]? Solve(double[,] m, double[] rhs)
    {
        var n = rhs.Length;
        var trace = 0.0;
        for (var i = 0; i < n; i++)
        {
            trace += m[i, i];
        }

        var a = new double[n, n + 1];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                a[i, j] = m[i, j] + (i == j ? 1e-9 * trace / Math.Max(1, n) : 0);
            }

            a[i, n] = rhs[i];
        }

        for (var c = 0; c < n; c++)
        {
            var pivot = c;
            for (var r = c + 1; r < n; r++)
            {
                if (Math.Abs(a[r, c]) > Math.Abs(a[pivot, c]))
                {
                    pivot = r;
                }
            }

            if (Math.Abs(a[pivot, c]) < 1e-300)
            {
                return null;
            }

            for (var j = c; j <= n; j++)
            {
                (a[c, j], a[pivot, j]) = (a[pivot, j], a[c, j]);
            }

            for (var r = c + 1; r < n; r++)
            {
                var factor = a[r, c] / a[c, c];
                for (var j = c; j <= n; j++)
                {
                    a[r, j] -= factor * a[c, j];
                }
            }
        }

        var result = new double[n];
        for (var i = n - 1; i >= 0; i--)
        {
            var sum = a[i, n];
            for (var j = i + 1; j < n; j++)
            {
                sum -= a[i, j] * result[j];
            }

            result[i] = sum / a[i, i];
        }

        return result;
    }
}
