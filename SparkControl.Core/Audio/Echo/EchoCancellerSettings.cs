namespace SparkControl.Core.Audio.Echo;

/// <summary>Knobs of <see cref="EchoCanceller"/>; the defaults suit a 16 kHz call in an office or a living room.</summary>
public sealed record EchoCancellerSettings
{
    public static readonly TimeSpan DefaultTailLength = TimeSpan.FromMilliseconds(256);

    /// <summary>
    /// How much of the room the filter models, after the bulk delay has been taken out: about a third of the room's
    /// reverberation time or more; longer adapts slower. 16–1000 ms.
    /// </summary>
    public TimeSpan TailLength { get; init; } = DefaultTailLength;

    /// <summary>1: one causal pass. 2: a second pass over the file that starts with the filter the first pass learnt.</summary>
    public int Passes { get; init; } = 2;

    /// <summary>Longest bulk delay searched (playback buffers and Bluetooth reach 300–500 ms).</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMilliseconds(600);

    /// <summary>Block length in samples at 16 kHz (scaled with the rate): 256 = 16 ms.</summary>
    public int BlockSize { get; init; } = 256;

    /// <summary>Normalised adaptation step in far-end single talk, 0–1.</summary>
    public double StepSize { get; init; } = 0.5;

    /// <summary>
    /// Spectral suppression of the echo the linear filter leaves (a clipping loudspeaker's, a moved listener's). It leaves
    /// fewer remote words in a transcript, but it is off by default: in double talk it costs SDR (4–7 dB on the clean test
    /// calls), and on a noisy call what it does to the noise counts as echo left (white noise at 10 dB SNR falls under the
    /// fault rule's 15 dB with it). The README's echo section has the figures (echo-side-by-side).
    /// </summary>
    public bool ResidualSuppression { get; init; }

    /// <summary>Everything wrong with these settings, as (setting, message) pairs; empty when they are usable.</summary>
    public IReadOnlyList<(string Setting, string Message)> Validate()
    {
        var errors = new List<(string, string)>();
        if (TailLength < TimeSpan.FromMilliseconds(16) || TailLength > TimeSpan.FromMilliseconds(1000))
        {
            errors.Add((nameof(TailLength), $"the tail must be 16–1000 ms, not {TailLength.TotalMilliseconds:0.#} ms"));
        }

        if (Passes is not (1 or 2))
        {
            errors.Add((nameof(Passes), $"passes must be 1 or 2, not {Passes}"));
        }

        if (MaxDelay < TimeSpan.Zero || MaxDelay > TimeSpan.FromSeconds(2))
        {
            errors.Add((nameof(MaxDelay), $"the longest delay must be 0–2000 ms, not {MaxDelay.TotalMilliseconds:0.#} ms"));
        }

        if (BlockSize is < 64 or > 2048 || (BlockSize & (BlockSize - 1)) != 0)
        {
            errors.Add((nameof(BlockSize), $"the block size must be a power of two from 64 to 2048, not {BlockSize}"));
        }

        if (!(StepSize > 0 && StepSize <= 1))
        {
            errors.Add((nameof(StepSize), $"the step size must be above 0 and at most 1, not {StepSize}"));
        }

        return errors;
    }
}
