namespace SparkControl.Core.Audio.Echo;

/// <summary>
/// Puts the far-end reference where the echo is, with its DC removed (a DC offset would only slow adaptation): shifted
/// by a whole number of samples, or, when the clocks drift, read at a moving fractional position through a
/// windowed-sinc interpolator (32 taps, Kaiser β 8, cut off at 0.95 of Nyquist, 1024 phases): its error stays near
/// −60 dB on speech, well below what the adaptive filter leaves.
/// </summary>
internal static class ReferenceAligner
{
    private const int HalfTaps = 16;
    private const int Phases = 1024;
    private const double Cutoff = 0.95;
    private static readonly Lazy<float[]> Table = new(BuildTable);

    /// <summary>The reference delayed by <paramref name="bulk"/> samples, <paramref name="length"/> long.</summary>
    public static float[] Shift(ReadOnlySpan<float> reference, int bulk, int length)
    {
        var filtered = RemoveDc(reference);
        var x = new float[length];
        for (var i = 0; i + bulk < length && i < filtered.Length; i++)
        {
            x[i + bulk] = filtered[i];
        }

        return x;
    }

    /// <summary>x[n] = reference(n − delayAt(n)), <paramref name="length"/> long, zero where that falls outside the reference.</summary>
    public static float[] Follow(ReadOnlySpan<float> reference, Func<long, double> delayAt, int length)
    {
        var filtered = RemoveDc(reference);
        var table = Table.Value;
        var x = new float[length];
        for (var n = 0; n < length; n++)
        {
            var position = n - delayAt(n);
            var whole = (int)Math.Floor(position);
            var phase = (int)Math.Round((position - whole) * Phases);
            if (phase == Phases)
            {
                whole++;
                phase = 0;
            }

            var row = phase * 2 * HalfTaps;
            double sum = 0;
            for (var k = 0; k < 2 * HalfTaps; k++)
            {
                var i = whole + k - HalfTaps + 1;
                if (i >= 0 && i < filtered.Length)
                {
                    sum += filtered[i] * (double)table[row + k];
                }
            }

            x[n] = (float)sum;
        }

        return x;
    }

    private static float[] RemoveDc(ReadOnlySpan<float> reference)
    {
        var filtered = new float[reference.Length];
        double previousIn = 0, previousOut = 0;
        const double pole = 0.995;
        for (var i = 0; i < reference.Length; i++)
        {
            var sample = reference[i];
            var output = sample - previousIn + (pole * previousOut);
            previousIn = sample;
            previousOut = output;
            filtered[i] = (float)output;
        }

        return filtered;
    }

    /// <summary>Row p holds the 2·HalfTaps weights for a position p/Phases past a sample: taps at −HalfTaps+1 … HalfTaps.</summary>
    private static float[] BuildTable()
    {
        var table = new float[(Phases + 1) * 2 * HalfTaps];
        const double beta = 8;
        var norm = BesselI0(beta);
        for (var p = 0; p <= Phases; p++)
        {
            var fraction = p / (double)Phases;
            for (var k = 0; k < 2 * HalfTaps; k++)
            {
                var t = k - HalfTaps + 1 - fraction;
                var sinc = Math.Abs(t) < 1e-12 ? 1 : Math.Sin(Math.PI * Cutoff * t) / (Math.PI * Cutoff * t);
                var r = t / HalfTaps;
                var window = Math.Abs(r) >= 1 ? 0 : BesselI0(beta * Math.Sqrt(1 - (r * r))) / norm;
                table[(p * 2 * HalfTaps) + k] = (float)(Cutoff * sinc * window);
            }
        }

        return table;
    }

    private static double BesselI0(double x)
    {
        double sum = 1, term = 1;
        for (var k = 1; k < 50; k++)
        {
            term *= x / (2 * k);
            sum += term * term;
        }

        return sum;
    }
}
