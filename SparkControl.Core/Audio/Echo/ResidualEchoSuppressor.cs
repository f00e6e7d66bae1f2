using SparkControl.Core.Audio.Signal;

namespace SparkControl.Core.Audio.Echo;

/// <summary>
/// Optional post-filter: a Wiener-like gain per STFT bin that removes part of the echo the linear filter leaves.
/// The residual echo is predicted as a fraction (the measured leak) of the linear echo estimate's power, held over
/// a short decay for the room's tail; the gain never falls below <see cref="FloorDb"/>, so near-end speech under the
/// echo loses at most that much.
/// </summary>
internal static class ResidualEchoSuppressor
{
    public const double FloorDb = -12;

    /// <summary>Filters <paramref name="output"/> in place; <paramref name="echoEstimate"/> is microphone minus output.</summary>
    public static void Apply(float[] output, float[] echoEstimate, double leak, int blockSize)
    {
        var size = 2 * blockSize;
        var fft = new RealFft(size);
        var window = new float[size];
        for (var i = 0; i < size; i++)
        {
            // sqrt-Hann analysis and synthesis windows: their product overlap-adds to 1 at 50 % overlap.
            window[i] = (float)Math.Sqrt(0.5 - (0.5 * Math.Cos(2 * Math.PI * i / size)));
        }

        var bins = fft.Bins;
        var held = new double[bins];
        var gain = new double[bins];
        Array.Fill(gain, 1);
        var floor = Math.Pow(10, FloorDb / 20);
        var result = new float[output.Length + size];
        var e = fft.NewBuffer();
        var y = fft.NewBuffer();
        for (var start = -blockSize; start < output.Length; start += blockSize)
        {
            Array.Clear(e);
            Array.Clear(y);
            for (var i = 0; i < size; i++)
            {
                var t = start + i;
                if (t >= 0 && t < output.Length)
                {
                    e[i] = output[t] * window[i];
                    y[i] = echoEstimate[t] * window[i];
                }
            }

            fft.Forward(e);
            fft.Forward(y);
            for (var k = 0; k < bins; k++)
            {
                var echoPower = leak * ((y[2 * k] * (double)y[2 * k]) + (y[(2 * k) + 1] * (double)y[(2 * k) + 1]));
                held[k] = Math.Max(echoPower, 0.6 * held[k]);
                var errorPower = (e[2 * k] * (double)e[2 * k]) + (e[(2 * k) + 1] * (double)e[(2 * k) + 1]);
                var target = errorPower > 0 ? Math.Max(floor, 1 - (2 * held[k] / errorPower)) : 1;
                // Gains fall fast (echo onsets) and recover slower (no musical flutter).
                gain[k] = target < gain[k] ? target : (0.5 * gain[k]) + (0.5 * target);
                e[2 * k] *= (float)gain[k];
                e[(2 * k) + 1] *= (float)gain[k];
            }

            fft.Inverse(e);
            for (var i = 0; i < size; i++)
            {
                var t = start + i;
                if (t >= 0 && t < output.Length)
                {
                    result[t] += e[i] * window[i];
                }
            }
        }

        Array.Copy(result, output, output.Length);
    }
}
