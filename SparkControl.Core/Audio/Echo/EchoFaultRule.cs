namespace SparkControl.Core.Audio.Echo;

/// <summary>
/// The quality bar on the real-room fault calls (eng/audio/fault-calls.txt), shared by the tests and the
/// echo-side-by-side benchmark so both judge alike:
/// <list type="bullet">
/// <item>far-end ERLE at least speexdsp's + 6 dB, and at least 15 dB (10 dB on the 5 dB-SNR and hard-clipping calls);
/// on the calls with added noise, the ERLE of the echo alone (noise caps the microphone-over-output form at the
/// echo-to-noise ratio, for every canceller);</item>
/// <item>where the near end speaks alone, its SDR no more than 1 dB below the microphone's;</item>
/// <item>in double talk, its SDR above the microphone's;</item>
/// <item>after an echo-path change, back within 3 dB of the ERLE before it within 1 s.</item>
/// </list>
/// </summary>
public static class EchoFaultRule
{
    public static readonly TimeSpan ReconvergenceLimit = TimeSpan.FromSeconds(1);

    /// <summary>Whether the call has noise added at a set SNR (its name starts with noise-, or it has every fault).</summary>
    public static bool IsNoisy(string call) => call.StartsWith("noise-", StringComparison.Ordinal) || call.StartsWith("all-", StringComparison.Ordinal);

    /// <summary>The ERLE floor for the call: 10 dB at 5 dB SNR or with hard clipping, 15 dB otherwise.</summary>
    public static double ErleFloorDb(string call) => call.EndsWith("-5dB", StringComparison.Ordinal) || call == "clip-hard" ? 10 : 15;

    /// <summary>The far-end ERLE the rule compares for this call (see the class remarks).</summary>
    public static double? Erle(string call, EchoScore score) => IsNoisy(call) ? score.ErleEchoFarEndDb : score.ErleFarEndDb;

    /// <summary>Every bound the call misses, in words; empty when it passes.</summary>
    public static IReadOnlyList<string> Check(string call, EchoScore ours, EchoScore speexdsp, EchoReconvergence? reconvergence)
    {
        ArgumentNullException.ThrowIfNull(ours);
        ArgumentNullException.ThrowIfNull(speexdsp);
        var misses = new List<string>();
        var erle = Erle(call, ours) ?? double.NegativeInfinity;
        var theirs = Erle(call, speexdsp) ?? double.NegativeInfinity;
        if (!ours.AllFinite)
        {
            misses.Add("the output has NaN or Inf");
        }

        if (erle < theirs + 6)
        {
            misses.Add($"ERLE {erle:0.0} dB is not 6 dB above speexdsp's {theirs:0.0} dB");
        }

        if (erle < ErleFloorDb(call))
        {
            misses.Add($"ERLE {erle:0.0} dB < {ErleFloorDb(call):0} dB");
        }

        if (ours.NearEndAloneSdrOutDb < ours.NearEndAloneSdrInDb - 1)
        {
            misses.Add($"near end alone: SDR {ours.NearEndAloneSdrInDb:0.0} → {ours.NearEndAloneSdrOutDb:0.0} dB");
        }

        if (!(ours.SdrOutDb > ours.SdrInDb))
        {
            misses.Add($"double talk: SDR {ours.SdrInDb:0.0} → {ours.SdrOutDb:0.0} dB");
        }

        if (reconvergence is not null && !(reconvergence.Time <= ReconvergenceLimit))
        {
            misses.Add(reconvergence.Time is { } t ? $"re-converged in {t.TotalSeconds:0.00} s" : "never re-converged");
        }

        return misses;
    }
}
