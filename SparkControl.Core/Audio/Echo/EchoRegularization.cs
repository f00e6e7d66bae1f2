using SparkControl.Core.Audio.Signal;

namespace SparkControl.Core.Audio.Echo;

/// <summary>
/// The adaptive filter's per-bin regularization: the power added to each bin's far-end power before the update divides
/// by it. A fixed floor keeps quiet bins from taking huge steps on a clean call; in a noisy room it rises to the far-end
/// power whose echo in that bin, as <see cref="Coupling"/> reckons it, would be <see cref="EchoOverNoise"/> times the
/// microphone's noise there.
/// </summary>
/// <remarks>
/// Why: the update divides the error by the far-end power, so in a bin and block where the far end is quiet the
/// microphone's noise, divided by that small power, throws the coefficients far off, and the filter then adds that error
/// to the echo whenever the far end is loud again. With a fixed floor, the filter's leftover echo stayed about 14 dB
/// under the noise whatever the step size (the best filter the step could find, trained only where no one local
/// talked). Regularizing by noise over echo coupling is the regularized NLMS's choice, per bin.
/// </remarks>
internal static class EchoRegularization
{
    /// <summary>The floor as a fraction of the far end's mean power per bin over the tail.</summary>
    private const double FloorFraction = 0.05;

    /// <summary>The quietest blocks of the microphone, this fraction of those where the far end is silent, are taken for its noise.</summary>
    private const double NoiseFraction = 0.1;

    /// <summary>The noise is measured over at least this many blocks (a quarter second at 16 kHz).</summary>
    private const int MinimumNoiseBlocks = 16;

    /// <summary>A far-end block is silent below this fraction of its loud blocks' energy (−30 dB), or below a few times its own quietest blocks (a far end with a noise floor of its own)...</summary>
    private const double SilentFar = 1e-3;

    /// <summary>... as long as that stays this far under the loud blocks (−20 dB): a far end that never pauses has no silence.</summary>
    private const double SilentFarAtMost = 1e-2;

    /// <summary>Microphone blocks quieter than this (per sample, about −100 dBFS) are digital silence (a muted microphone), not noise.</summary>
    private const double DigitalSilence = 1e-10;

    /// <summary>
    /// The noise-derived regularization is the far-end power whose estimated echo would be this many times the noise:
    /// below it a step mostly follows the noise. Tuned on the test calls, not derived (the coupling estimate is itself
    /// only roughly to scale): 3 removes 1–4 dB more of the echo alone than 1 does on the noisy calls, but for white
    /// noise at 5 dB SNR (0.8 dB less).
    /// </summary>
    private const double EchoOverNoise = 3;

    /// <summary>
    /// Per bin of the filter's FFT: the floor, or where it is higher, the far-end power (summed over the partitions, as
    /// the filter sums it) whose estimated echo in that bin is <see cref="EchoOverNoise"/> times the noise. Only the floor
    /// when the call is shorter than two tails, or when no stretch of it has the far end silent and the microphone not.
    /// </summary>
    /// <param name="x">The far end, aligned to the microphone by the bulk delay.</param>
    /// <param name="d">The microphone.</param>
    public static float[] PerBin(float[] x, float[] d, int blockSize, int partitions)
    {
        var fft = new RealFft(2 * blockSize);
        var bins = fft.Bins;
        var blocks = d.Length / blockSize;
        var floor = Floor(x, blockSize, partitions);
        var result = new float[bins];
        Array.Fill(result, floor);
        if (blocks < 2 * partitions)
        {
            return result;
        }

        var noise = NoiseSpectrum(fft, x, d, blockSize, partitions, blocks);
        if (noise is null)
        {
            return result;
        }

        var coupling = Coupling(fft, x, d, blockSize, partitions, blocks);
        for (var k = 0; k < bins; k++)
        {
            if (coupling[k] > 0)
            {
                result[k] = (float)Math.Max(floor, EchoOverNoise * noise[k] / coupling[k]);
            }
        }

        return result;
    }

    /// <summary>The energy of <paramref name="count"/> frames of <paramref name="size"/> samples, one every <paramref name="hop"/>.</summary>
    internal static double[] FrameEnergies(ReadOnlySpan<float> signal, int size, int hop, int count)
    {
        var energies = new double[count];
        for (var b = 0; b < count; b++)
        {
            double e = 0;
            foreach (var v in signal.Slice(b * hop, size))
            {
                e += v * (double)v;
            }

            energies[b] = e;
        }

        return energies;
    }

    /// <summary>A small fraction of the far end's mean bin power over the tail (FFT units).</summary>
    private static float Floor(float[] x, int blockSize, int partitions)
    {
        double energy = 0;
        foreach (var sample in x)
        {
            energy += sample * (double)sample;
        }

        var meanPower = energy / Math.Max(1, x.Length);
        // |X_k|^2 of a 2N-point frame of white noise is about 2N * power; summed over M partitions.
        var perBin = 2.0 * blockSize * partitions * meanPower;
        return (float)Math.Max(perBin * FloorFraction, 1e-9);
    }

    /// <summary>
    /// The microphone's mean power per bin over its quietest blocks among those where the far end and its echo's tail
    /// are silent, in the units of the filter's error spectrum ([0, block]); null when the far end is never silent that
    /// long (then the microphone's quiet blocks may be echo, not noise).
    /// </summary>
    private static double[]? NoiseSpectrum(RealFft fft, float[] x, float[] d, int blockSize, int partitions, int blocks)
    {
        var far = FrameEnergies(x, blockSize, blockSize, blocks);
        var loud = EchoCanceller.Percentile(far, 0.9);
        var silentBelow = Math.Min(SilentFarAtMost * loud, Math.Max(SilentFar * loud, 3 * EchoCanceller.Percentile(far, 0.1)));
        var candidates = new List<(int Block, double Energy)>();
        var mic = FrameEnergies(d, blockSize, blockSize, blocks);
        for (var b = partitions; b < blocks; b++)
        {
            var silent = true;
            for (var p = 0; p <= partitions && silent; p++)
            {
                silent = far[b - p] <= silentBelow;
            }

            if (silent && mic[b] > DigitalSilence * blockSize)
            {
                candidates.Add((b, mic[b]));
            }
        }

        if (candidates.Count < MinimumNoiseBlocks / NoiseFraction)
        {
            return null;
        }

        var quiet = EchoCanceller.Percentile([.. candidates.Select(c => c.Energy)], NoiseFraction);
        return fft.MeanPower(
            candidates.Where(c => c.Energy <= quiet).Select(c => c.Block),
            (b, frame) =>
            {
                Array.Clear(frame);
                d.AsSpan(b * blockSize, blockSize).CopyTo(frame.AsSpan(blockSize));
            });
    }

    /// <summary>
    /// Per bin, the microphone's far-end-coherent power per block over the filter's far-end power per block: for each
    /// partition's lag, the cross-spectrum of far end and microphone over the whole call, projected (noise and near-end
    /// speech are uncorrelated with the far end and average out of it).
    /// </summary>
    private static double[] Coupling(RealFft fft, float[] x, float[] d, int blockSize, int partitions, int blocks)
    {
        var bins = fft.Bins;
        var far = new float[partitions][];
        for (var p = 0; p < partitions; p++)
        {
            far[p] = fft.NewBuffer();
        }

        var cross = new double[partitions, bins, 2];
        var farPower = new double[bins];
        var mic = fft.NewBuffer();
        for (var b = 0; b < blocks; b++)
        {
            var newest = far[b % partitions];
            Array.Clear(newest);
            if (b > 0)
            {
                x.AsSpan((b - 1) * blockSize, blockSize).CopyTo(newest);
            }

            x.AsSpan(b * blockSize, blockSize).CopyTo(newest.AsSpan(blockSize));
            fft.Forward(newest);
            Array.Clear(mic);
            d.AsSpan(b * blockSize, blockSize).CopyTo(mic.AsSpan(blockSize));
            fft.Forward(mic);
            for (var k = 0; k < bins; k++)
            {
                farPower[k] += (newest[2 * k] * (double)newest[2 * k]) + (newest[(2 * k) + 1] * (double)newest[(2 * k) + 1]);
            }

            for (var p = 0; p < Math.Min(partitions, b + 1); p++)
            {
                var xp = far[(b - p) % partitions];
                for (var k = 0; k < bins; k++)
                {
                    double xr = xp[2 * k], xi = xp[(2 * k) + 1], dr = mic[2 * k], di = mic[(2 * k) + 1];
                    cross[p, k, 0] += (xr * dr) + (xi * di);
                    cross[p, k, 1] += (xr * di) - (xi * dr);
                }
            }
        }

        var coupling = new double[bins];
        for (var k = 0; k < bins; k++)
        {
            if (farPower[k] <= 0)
            {
                continue;
            }

            double coherent = 0;
            for (var p = 0; p < partitions; p++)
            {
                coherent += ((cross[p, k, 0] * cross[p, k, 0]) + (cross[p, k, 1] * cross[p, k, 1])) / farPower[k];
            }

            // Echo power per block over (M × far-end power per block), both per bin.
            coupling[k] = coherent / (partitions * farPower[k]);
        }

        return coupling;
    }
}
