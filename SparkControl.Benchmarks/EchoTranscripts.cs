using SparkControl.Core.Audio.Signal;
using SparkControl.Sim.Audio;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Benchmarks;

/// <summary>What reached the transcript of a call's local channel: remote words the recogniser heard on it (echo left
/// over), and local words it did not hear (a canceller that ate the local voice, or echo that drowned it).</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed record HeardOutcome(int RemoteWordsLeaked, int LocalWordsLost, int LocalWords)
{
    public override string ToString() => $"{RemoteWordsLeaked} / {LocalWordsLost} (of {LocalWords})";
}

/// <summary>
/// The transcript-level outcome of echo cancellation for each canceller on every call of a table, and their sums in a
/// table of their own. A microphone channel is recognised by pocketsphinx, the Sim's own recogniser (the demo's ASR
/// worker runs the same class), with a grammar of every sentence of the call on both channels, so a leaked remote
/// sentence is recognised as itself. Each word is credited to the truth sentence holding it near its time
/// (<see cref="TranscriptScoring.Attribution"/>).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class HeardTally
{
    private readonly Dictionary<string, List<HeardOutcome>> _outcomes = new(StringComparer.Ordinal);

    /// <summary>The cell for <paramref name="who"/>'s row of <paramref name="call"/>.</summary>
    public async Task<string> HearAsync(EchoCalls.Call call, string who, float[] channel)
    {
        if (!PocketsphinxTranscriber.IsInstalled)
        {
            return "pocketsphinx not installed";
        }

        var outcome = await HearAsync(call, channel);
        if (!_outcomes.TryGetValue(who, out var list))
        {
            _outcomes[who] = list = [];
        }

        list.Add(outcome);
        return outcome.ToString();
    }

    private static async Task<HeardOutcome> HearAsync(EchoCalls.Call call, float[] channel)
    {
        using var work = new TempDirectory("sc-echo-heard");
        var path = Path.Combine(work.Path, "local.wav");
        await File.WriteAllBytesAsync(path, WavFile.Write16(call.Audio.SampleRate, channel));
        var heard = await new PocketsphinxTranscriber([.. call.Sentences.Select(s => s.Text).Distinct()]).TranscribeAsync(path, null, CancellationToken.None);
        // Everything on this channel is taken as the local speaker's, as a transcript of a two-channel call does.
        var (right, wrong, _) = TranscriptScoring.Attribution(heard.Words.Select(w => new ScoredWord(w.Word, w.Start, "local", 0)), call.Sentences);
        var local = TranscriptScoring.Reference(call.Sentences, 0).Length;
        return new HeardOutcome(wrong, Math.Max(0, local - right), local);
    }

    public void Print()
    {
        if (_outcomes.Count == 0)
        {
            return;
        }

        Console.WriteLine();
        Console.WriteLine("| transcript over every call | remote words leaked | local words lost | of local words |");
        Console.WriteLine("| --- | --- | --- | --- |");
        foreach (var (who, outcomes) in _outcomes)
        {
            Console.WriteLine($"| {who} | {outcomes.Sum(o => o.RemoteWordsLeaked)} | {outcomes.Sum(o => o.LocalWordsLost)} | {outcomes.Sum(o => o.LocalWords)} |");
        }
    }
}
