using System.Globalization;
using SparkControl.Core.Audio.Echo;

namespace SparkControl.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project SparkControl.Benchmarks -- echo-side-by-side</c>: ours and speexdsp on the same
/// generated calls (same frames and tail), ERLE, near-end SDR and speed in one markdown table.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class EchoSideBySide
{
    public static int Run(string[] args) => (args is [_, "faults", ..]
        ? RunFaultsAsync(args.Length > 2 ? args[2] : null)
        : RunCleanAsync()).GetAwaiter().GetResult();

    /// <summary>The linear calls the canceller was built with: no clipping, drift, path change or noise.</summary>
    private static async Task<int> RunCleanAsync()
    {
        EchoCalls.Call[] calls =
        [
            EchoCalls.Make("default"),
            EchoCalls.Make("delay 400 ms, tail 256 ms", "--delay", "0.4"),
            EchoCalls.Make("echo gain 1.0", "--gain", "1.0"),
            EchoCalls.Make("echo only", "--no-local"),
            EchoCalls.Make("one minute", "--minutes", "1"),
        ];
        Console.WriteLine("| call | canceller | ERLE far-end single talk (dB) | ERLE noise-free (dB) | near-end SDR in → out (dB) | near-end gain (dB) | s per min of audio | × real time | transcript: remote words leaked / local words lost (of N) |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        var heard = new HeardTally();
        foreach (var call in calls)
        {
            var mic = call.Audio.Channels[0];
            var reference = call.Audio.Channels[1];
            var rate = call.Audio.SampleRate;
            EchoCanceller.Cancel(call.Audio); // warm the JIT
            var ours = EchoCanceller.Cancel(call.Audio);
            var onePass = EchoCanceller.Cancel(call.Audio, new EchoCancellerSettings { Passes = 1 });
            var suppressed = EchoCanceller.Cancel(call.Audio, new EchoCancellerSettings { ResidualSuppression = true });
            var speex = SpeexEchoCanceller.Cancel(mic, reference, rate, ours.BlockSize, (int)(0.256 * rate));
            var aligned = SpeexEchoCanceller.Cancel(mic, reference, rate, ours.BlockSize, (int)(0.256 * rate), Math.Max(0, ours.Delay.Samples - 64));
            const string Recorded = "microphone as recorded";
            Console.WriteLine($"| {call.Name} | {Recorded} | | | | | | | {await heard.HearAsync(call, Recorded, mic)} |");
            await RowAsync(heard, call, "ours, 2 passes", ours.Output, ours.Elapsed);
            await RowAsync(heard, call, "ours, 2 passes + residual suppression", suppressed.Output, suppressed.Elapsed);
            await RowAsync(heard, call, "ours, 1 pass", onePass.Output, onePass.Elapsed);
            await RowAsync(heard, call, "speexdsp", speex.Output, speex.Elapsed);
            await RowAsync(heard, call, "speexdsp, reference delay-aligned by ours", aligned.Output, aligned.Elapsed);
        }

        heard.Print();
        return 0;
    }

    /// <summary>
    /// <c>echo-side-by-side faults [name]</c>: the real-room fault calls (eng/audio/fault-calls.txt), ours against
    /// speexdsp with and without its preprocessor, with the issue's pass/fail rule per call. With pocketsphinx
    /// installed, each microphone channel (as recorded, and as each canceller left it) is also recognised, and the last
    /// column says what reached the transcript: remote words on the local channel, local words lost. Our rows' speed is
    /// the median of three runs (<see cref="Timed"/>), on every core the machine has (printed first).
    /// </summary>
    private static async Task<int> RunFaultsAsync(string? nameContains)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessorCount} cores; our speed is the median of 3 runs."));
        Console.WriteLine();
        Console.WriteLine("| call | canceller | ERLE far-end (dB) | ERLE echo only, far-end (dB) | near-end SDR, double talk in → out (dB) | near-end SDR, alone in → out (dB) | re-convergence | drift (ppm) | × real time | transcript: remote words leaked / local words lost (of N) |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        var failures = 0;
        var heard = new HeardTally();
        foreach (var call in EchoCalls.Faults(nameContains))
        {
            var mic = call.Audio.Channels[0];
            var reference = call.Audio.Channels[1];
            var rate = call.Audio.SampleRate;
            var (ours, oursElapsed) = Timed(() => EchoCanceller.Cancel(call.Audio));
            var tail = (int)(0.256 * rate);
            var speex = SpeexEchoCanceller.Cancel(mic, reference, rate, ours.BlockSize, tail);
            var speexPre = SpeexEchoCanceller.Cancel(mic, reference, rate, ours.BlockSize, tail, preprocess: true);
            var (suppressed, suppressedElapsed) = Timed(() => EchoCanceller.Cancel(call.Audio, new EchoCancellerSettings { ResidualSuppression = true }));
            var score = EchoMetrics.Score(mic, ours.Output, call.Truth);
            var speexScore = EchoMetrics.Score(mic, speex.Output, call.Truth);
            const string Recorded = "microphone as recorded";
            Console.WriteLine($"| {call.Name} | {Recorded} | | | | | | | | {await heard.HearAsync(call, Recorded, mic)} |");
            var reconvergence = await FaultRowAsync(heard, call, "ours", score, ours.Output, oursElapsed, ours.DriftPpm);
            await FaultRowAsync(heard, call, "ours + residual suppression", EchoMetrics.Score(mic, suppressed.Output, call.Truth), suppressed.Output, suppressedElapsed, suppressed.DriftPpm);
            await FaultRowAsync(heard, call, "speexdsp", speexScore, speex.Output, speex.Elapsed, null);
            await FaultRowAsync(heard, call, "speexdsp + preprocessor", EchoMetrics.Score(mic, speexPre.Output, call.Truth), speexPre.Output, speexPre.Elapsed, null);
            var verdict = EchoFaultRule.Check(call.Name, score, speexScore, reconvergence);
            failures += verdict.Count;
            Console.WriteLine(verdict.Count == 0 ? $"| {call.Name} | **pass** | | | | | | | | |" : $"| {call.Name} | **FAIL**: {string.Join("; ", verdict)} | | | | | | | | |");
        }

        heard.Print();
        Console.WriteLine(failures == 0 ? "PASS: every fault call meets the rule" : $"FAIL: {failures} bound(s) missed");
        return failures == 0 ? 0 : 1;
    }

    /// <summary>
    /// Our canceller's result and how long it takes: the median of three runs, the first of which is the one scored. A
    /// single run's time on a small shared machine swings by a quarter (the first run of the process also compiles the
    /// code); the median says what the canceller costs, not what else the machine was doing.
    /// </summary>
    private static (EchoCancelResult Result, TimeSpan Elapsed) Timed(Func<EchoCancelResult> cancel)
    {
        var result = cancel();
        TimeSpan[] times = [result.Elapsed, cancel().Elapsed, cancel().Elapsed];
        Array.Sort(times);
        return (result, times[1]);
    }

    /// <summary>Prints one canceller's row, what it heard included, and answers its re-convergence (null on a call without a path change).</summary>
    private static async Task<EchoReconvergence?> FaultRowAsync(HeardTally tally, EchoCalls.Call call, string who, EchoScore score, float[] output, TimeSpan elapsed, double? driftPpm)
    {
        var heard = await tally.HearAsync(call, who, output);
        static string F(double? v) => v is { } x ? x.ToString("0.0", CultureInfo.InvariantCulture) : "–";
        var seconds = call.Audio.Length / (double)call.Audio.SampleRate;
        var reconvergence = call.PathChange is { } at ? EchoMetrics.Reconvergence(output, call.Truth, at) : null;
        var recovered = reconvergence is null ? "" : reconvergence.Time is { } t
            ? string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.00} s ({F(reconvergence.BeforeDb)} → {F(reconvergence.AfterDb)} dB)")
            : string.Create(CultureInfo.InvariantCulture, $"never ({F(reconvergence.BeforeDb)} dB before)");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {call.Name} | {who} | {F(score.ErleFarEndDb)} | {F(score.ErleEchoFarEndDb)} | {F(score.SdrInDb)} → {F(score.SdrOutDb)} | {F(score.NearEndAloneSdrInDb)} → {F(score.NearEndAloneSdrOutDb)} | {recovered} | {F(driftPpm)} | {seconds / elapsed.TotalSeconds:0} | {heard} |"));
        return reconvergence;
    }

    private static async Task RowAsync(HeardTally tally, EchoCalls.Call call, string who, float[] output, TimeSpan elapsed)
    {
        var score = EchoMetrics.Score(call.Audio.Channels[0], output, call.Truth);
        var heard = await tally.HearAsync(call, who, output);
        static string F(double? v) => v is { } x ? x.ToString("0.0", CultureInfo.InvariantCulture) : "–";
        var seconds = call.Audio.Length / (double)call.Audio.SampleRate;
        var perMinute = elapsed.TotalSeconds * 60 / seconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {call.Name} | {who} | {F(score.ErleFarEndDb)} | {F(score.ErleNoiseFreeDb)} | {F(score.SdrInDb)} → {F(score.SdrOutDb)} | {F(score.NearEndGainDb)} | {perMinute:0.000} | {seconds / elapsed.TotalSeconds:0} | {heard} |"));
    }
}
