using SparkControl.Core.Audio.Signal;

namespace SparkControl.Core.Audio.Echo;

/// <summary>
/// Optional post-filter: a Wiener-like gain per STFT bin that removes part of the echo the linear filter leaves.
/// The residual echo is predicted as a fraction (the measured leak) of the linear echo estimate's power, held over
/// a short decay for the room's tail; the gain never falls below <see cref="FloorDb"/>, so near-end speech under the
/// echo loses at most that much. What the gain takes of the room's noise is given back as comfort noise of the same
/// spectrum: without it the noise would dip wherever the far end talks and rise again in the pauses (pumping).
/// </summary>
internal static class ResidualEchoSuppressor
{
    public const double FloorDb = -12;

    /// <summary>
    /// The room's noise is the mean spectrum of the quietest frames, this fraction of them: no one talks in about 40 % of
    /// the test calls' frames, and a tenth reads babble by its quietest moments (the noise then dips 0.9 dB where the far
    /// end talks, against 0.3 dB). A call that is talk nearly throughout gets a little speech in its comfort noise.
    /// </summary>
    private const double NoiseFraction = 0.3;

    /// <summary>A fixed seed: the same call gives the same output.</summary>
    private const int ComfortSeed = 17;

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
        var noise = NoiseSpectrum(output, window, fft, blockSize);
        var random = new Random(ComfortSeed);
        for (var start = -blockSize; start < output.Length; start += blockSize)
        {
            Frame(output, start, window, e);
            Frame(echoEstimate, start, window, y);
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
                // Comfort: the noise power the gain took, back with a random phase. Twice the measured power: the noise
                // was measured through the analysis window (its power over the frame halved), the comfort is spread evenly
                // over the frame and then shaped by the synthesis window alone.
                var comfort = Math.Sqrt(2 * Math.Max(0, 1 - (gain[k] * gain[k])) * noise[k]);
                var phase = 2 * Math.PI * random.NextDouble();
                e[2 * k] += (float)(comfort * Math.Cos(phase));
                e[(2 * k) + 1] += (float)(comfort * Math.Sin(phase));
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

    /// <summary>Windowed frame of <paramref name="signal"/> from <paramref name="start"/> (zeros outside it).</summary>
    private static void Frame(float[] signal, int start, float[] window, float[] target)
    {
        Array.Clear(target);
        for (var i = 0; i < window.Length; i++)
        {
            var t = start + i;
            if (t >= 0 && t < signal.Length)
            {
                target[i] = signal[t] * window[i];
            }
        }
    }

    /// <summary>
    /// Per bin, the mean power of the <see cref="NoiseFraction"/> quietest frames of the linear filter's output (the
    /// room's noise where no one talks; zeros on a clean call), in the units of the frames' spectra.
    /// </summary>
    private static double[] NoiseSpectrum(float[] output, float[] window, RealFft fft, int blockSize)
    {
        // The canceller's output is padded to whole blocks.
        var frames = output.Length / blockSize;
        var energies = EchoRegularization.FrameEnergies(output, blockSize, blockSize, frames);

        var quiet = EchoCanceller.Percentile(energies, NoiseFraction);
        // The frame centred on each quiet block, as the suppressor frames it.
        return fft.MeanPower(
            Enumerable.Range(0, frames).Where(f => energies[f] <= quiet),
            (f, frame) => Frame(output, (f * blockSize) - (blockSize / 2), window, frame));
    }
}
