using System.Globalization;
using SparkControl.Core.Audio.Echo;

namespace SparkControl.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project SparkControl.Benchmarks -- echo-side-by-side</c>: ours and speexdsp on the same
/// generated calls (same frames and tail), ERLE, near-end SDR and speed in one markdown table.
/// </summary>
internal static class EchoSideBySide
{
    public static int Run(string[] args)
    {
        if (args is [_, "faults", ..])
        {
            return RunFaults(args.Length > 2 ? args[2] : null);
        }

        EchoCalls.Call[] calls =
        [
            EchoCalls.Make("default"),
            EchoCalls.Make("delay 400 ms, tail 256 ms", "--delay", "0.4"),
            EchoCalls.Make("echo gain 1.0", "--gain", "1.0"),
            EchoCalls.Make("echo only", "--no-local"),
            EchoCalls.Make("one minute", "--minutes", "1"),
        ];
        Console.WriteLine("| call | canceller | ERLE far-end single talk (dB) | ERLE noise-free (dB) | near-end SDR in → out (dB) | near-end gain (dB) | s per min of audio | × real time |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var call in calls)
        {
            var mic = call.Audio.Channels[0];
            var reference = call.Audio.Channels[1];
            var rate = call.Audio.SampleRate;
            EchoCanceller.Cancel(call.Audio); // warm the JIT
            var ours = EchoCanceller.Cancel(call.Audio);
            var onePass = EchoCanceller.Cancel(call.Audio, new EchoCancellerSettings { Passes = 1 });
            var speex = SpeexEchoCanceller.Cancel(mic, reference, rate, ours.BlockSize, (int)(0.256 * rate));
            var aligned = SpeexEchoCanceller.Cancel(mic, reference, rate, ours.BlockSize, (int)(0.256 * rate), Math.Max(0, ours.Delay.Samples - 64));
            Row(call, "ours, 2 passes", EchoMetrics.Score(mic, ours.Output, call.Truth), ours.Elapsed);
            Row(call, "ours, 1 pass", EchoMetrics.Score(mic, onePass.Output, call.Truth), onePass.Elapsed);
            Row(call, "speexdsp", EchoMetrics.Score(mic, speex.Output, call.Truth), speex.Elapsed);
            Row(call, "speexdsp, reference delay-aligned by ours", EchoMetrics.Score(mic, aligned.Output, call.Truth), aligned.Elapsed);
        }

        return 0;
    }

    /// <summary>
    /// <c>echo-side-by-side faults [name]</c>: the real-room fault calls (eng/audio/fault-calls.txt), ours against
    /// speexdsp with and without its preprocessor, with the issue's pass/fail rule per call.
    /// </summary>
    private static int RunFaults(string? nameContains)
    {
        Console.WriteLine("| call | canceller | ERLE far-end (dB) | ERLE echo only, far-end (dB) | near-end SDR, double talk in → out (dB) | near-end SDR, alone in → out (dB) | re-convergence | drift (ppm) | × real time |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        var failures = 0;
        foreach (var call in EchoCalls.Faults(nameContains))
        {
            var mic = call.Audio.Channels[0];
            var reference = call.Audio.Channels[1];
            var rate = call.Audio.SampleRate;
            var ours = EchoCanceller.Cancel(call.Audio);
            var tail = (int)(0.256 * rate);
            var speex = SpeexEchoCanceller.Cancel(mic, reference, rate, ours.BlockSize, tail);
            var speexPre = SpeexEchoCanceller.Cancel(mic, reference, rate, ours.BlockSize, tail, preprocess: true);
            var score = EchoMetrics.Score(mic, ours.Output, call.Truth);
            var speexScore = EchoMetrics.Score(mic, speex.Output, call.Truth);
            var reconvergence = FaultRow(call, "ours", score, ours.Output, ours.Elapsed, ours.DriftPpm);
            var suppressed = EchoCanceller.Cancel(call.Audio, new EchoCancellerSettings { ResidualSuppression = true });
            FaultRow(call, "ours + residual suppression", EchoMetrics.Score(mic, suppressed.Output, call.Truth), suppressed.Output, suppressed.Elapsed, suppressed.DriftPpm);
            FaultRow(call, "speexdsp", speexScore, speex.Output, speex.Elapsed, null);
            FaultRow(call, "speexdsp + preprocessor", EchoMetrics.Score(mic, speexPre.Output, call.Truth), speexPre.Output, speexPre.Elapsed, null);
            var verdict = EchoFaultRule.Check(call.Name, score, speexScore, reconvergence);
            failures += verdict.Count;
            Console.WriteLine(verdict.Count == 0 ? $"| {call.Name} | **pass** | | | | | | | |" : $"| {call.Name} | **FAIL**: {string.Join("; ", verdict)} | | | | | | | |");
        }

        Console.WriteLine(failures == 0 ? "PASS: every fault call meets the rule" : $"FAIL: {failures} bound(s) missed");
        return failures == 0 ? 0 : 1;
    }

    /// <summary>Prints one canceller's row and answers its re-convergence (null on a call without a path change).</summary>
    private static EchoReconvergence? FaultRow(EchoCalls.Call call, string who, EchoScore score, float[] output, TimeSpan elapsed, double? driftPpm)
    {
        static string F(double? v) => v is { } x ? x.ToString("0.0", CultureInfo.InvariantCulture) : "–";
        var seconds = call.Audio.Length / (double)call.Audio.SampleRate;
        var reconvergence = call.PathChange is { } at ? EchoMetrics.Reconvergence(output, call.Truth, at) : null;
        var recovered = reconvergence is null ? "" : reconvergence.Time is { } t
            ? string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.00} s ({F(reconvergence.BeforeDb)} → {F(reconvergence.AfterDb)} dB)")
            : string.Create(CultureInfo.InvariantCulture, $"never ({F(reconvergence.BeforeDb)} dB before)");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {call.Name} | {who} | {F(score.ErleFarEndDb)} | {F(score.ErleEchoFarEndDb)} | {F(score.SdrInDb)} → {F(score.SdrOutDb)} | {F(score.NearEndAloneSdrInDb)} → {F(score.NearEndAloneSdrOutDb)} | {recovered} | {F(driftPpm)} | {seconds / elapsed.TotalSeconds:0} |"));
        return reconvergence;
    }

    private static void Row(EchoCalls.Call call, string who, EchoScore score, TimeSpan elapsed)
    {
        static string F(double? v) => v is { } x ? x.ToString("0.0", CultureInfo.InvariantCulture) : "–";
        var seconds = call.Audio.Length / (double)call.Audio.SampleRate;
        var perMinute = elapsed.TotalSeconds * 60 / seconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {call.Name} | {who} | {F(score.ErleFarEndDb)} | {F(score.ErleNoiseFreeDb)} | {F(score.SdrInDb)} → {F(score.SdrOutDb)} | {F(score.NearEndGainDb)} | {perMinute:0.000} | {seconds / elapsed.TotalSeconds:0} |"));
    }
}
