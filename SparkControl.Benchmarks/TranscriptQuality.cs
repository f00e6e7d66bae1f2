using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project SparkControl.Benchmarks -- transcript-quality</c>: generated calls (espeak-ng and
/// sox through eng/audio/make-echo-call.sh: loudspeaker echo, double talk, turn-taking) run through the whole
/// transcription job of an in-process demo panel whose pocketsphinx worker has a phrase list of every sentence of every
/// call, both channels (a leaked remote sentence is recognised as itself and counts against the local channel). Prints
/// word error rate per channel and speaker attribution, with and without echo cancellation and the referee, as markdown.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class TranscriptQuality
{
    private sealed record Call(string Name, string Directory, IReadOnlyList<TruthSentence> Truth);

    private sealed record Run(string Call, string Input, bool EchoCancel, bool Referee);

    public static async Task<int> RunAsync(string[] args)
    {
        var root = Path.Combine(Path.GetTempPath(), $"sc-quality-{Environment.ProcessId}");
        var scene = Path.Combine(Tools.RepositoryRoot, "eng", "audio", "scenes", "turns.txt");
        if (args is [_, "--minutes", var text] && int.TryParse(text, CultureInfo.InvariantCulture, out var minutes))
        {
            return await LongCallAsync(root, scene, minutes);
        }

        Call[] calls =
        [
            await MakeAsync(root, "double talk", []),
            await MakeAsync(root, "double talk, echo gain 1.0", ["--gain", "1.0"]),
            await MakeAsync(root, "turns", ["--scene", scene, "--length", "15"]),
            await MakeAsync(root, "turns, delay 400 ms", ["--scene", scene, "--length", "15", "--delay", "0.4"]),
        ];
        var settings = new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Error" };
        foreach (var (sentence, i) in calls.SelectMany(c => c.Truth).Select(s => s.Text).Distinct().Select((s, i) => (s, i)))
        {
            settings[$"Demo:AsrPhrases:{i}"] = sentence;
        }

        await using var app = await SparkControlApp.StartAsync(settings);
        await Wait.UntilAsync(() => app.Get<Core.Gateway.AudioRoutes>().Workers().Any(w => w.Healthy) && app.Get<Core.Gateway.GatewayRoutes>().Targets().Count > 0,
            "the demo's ASR worker and chat model serve", TimeSpan.FromMinutes(2));
        using var client = app.CreateClient();
        client.Timeout = TimeSpan.FromMinutes(5);
        Console.WriteLine("| call | input | echo handling | referee | WER local | WER remote | attribution right | wrong | unexplained | referee changes |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var call in calls)
        {
            foreach (var echo in new[] { false, true })
            {
                await ScoreAsync(client, call, new Run(call.Name, "stereo call", echo, Referee: false));
            }

            foreach (var referee in new[] { false, true })
            {
                await ScoreAsync(client, call, new Run(call.Name, "mono mix + coarse RTTM", EchoCancel: false, referee));
            }
        }

        return 0;
    }

    /// <summary>
    /// <c>transcript-quality --minutes M</c>: one turn-taking call of about M minutes through the whole job (cut into
    /// pieces, in parallel up to the worker's cap): how long it took, the panel's peak memory, and the error rates.
    /// </summary>
    private static async Task<int> LongCallAsync(string root, string scene, int minutes)
    {
        var call = await MakeAsync(root, $"turns {minutes} min", ["--scene", scene, "--length", "15", "--minutes", minutes.ToString(CultureInfo.InvariantCulture)]);
        var settings = new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Error", ["Demo:InitialModel"] = string.Empty };
        foreach (var (sentence, i) in call.Truth.Select(s => s.Text).Distinct().Select((s, i) => (s, i)))
        {
            settings[$"Demo:AsrPhrases:{i}"] = sentence;
        }

        await using var app = await SparkControlApp.StartAsync(settings);
        await Wait.UntilAsync(() => app.Get<Core.Gateway.AudioRoutes>().Workers().Any(w => w.Healthy), "the demo's ASR worker serves", TimeSpan.FromMinutes(2));
        using var client = app.CreateClient();
        client.Timeout = TimeSpan.FromMinutes(10);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var peak = 0L;
        using var sampler = new Timer(_ => Interlocked.Exchange(ref peak, Math.Max(Interlocked.Read(ref peak), Environment.WorkingSet)), null, 0, 200);
        Console.WriteLine("| call | audio | took | × real time | peak working set | WER local | WER remote | attribution right | wrong |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        await ScoreAsync(client, call, new Run(call.Name, "stereo call", EchoCancel: true, Referee: false), (job, line) =>
        {
            var seconds = job.GetProperty("durationSeconds").GetDouble();
            var took = started.Elapsed;
            return string.Create(CultureInfo.InvariantCulture, $"| {call.Name} | {TimeSpan.FromSeconds(seconds):h\\:mm\\:ss} stereo | {took:m\\:ss} | {seconds / took.TotalSeconds:0.0} | {Interlocked.Read(ref peak) / (1 << 20)} MiB | {line} |");
        });
        return 0;
    }

    private static async Task<Call> MakeAsync(string root, string name, string[] options)
    {
        var directory = Path.Combine(root, name.Replace(' ', '-').Replace(",", string.Empty, StringComparison.Ordinal));
        var script = Path.Combine(Tools.RepositoryRoot, "eng", "audio", "make-echo-call.sh");
        (await ProcessRunner.RunAsync("bash", [script, directory, .. options], TimeSpan.FromMinutes(2))).EnsureSuccess($"making the {name} call");
        // The mono mix: both speakers in one recording, as a room microphone or a mixed-down call would hold them.
        (await ProcessRunner.RunAsync("sox", ["-m", "-v", "1", Path.Combine(directory, "local.wav"), "-v", "1", Path.Combine(directory, "remote.wav"), Path.Combine(directory, "mix.wav")]))
            .EnsureSuccess("mixing the call down");
        return new Call(name, directory, TranscriptScoring.ReadTruth(await File.ReadAllTextAsync(Path.Combine(directory, "truth.tsv"))));
    }

    /// <summary>
    /// A diarization as coarse as real ones: each sentence's turn starts 0.3 s late and ends 0.4 s early (pyannote's
    /// boundaries are a few hundred ms off), so the edge words fall in gaps and are filled from the nearest turn.
    /// </summary>
    private static string CoarseRttm(IReadOnlyList<TruthSentence> truth) => string.Concat(truth.Select(s =>
        string.Create(CultureInfo.InvariantCulture, $"SPEAKER mix 1 {s.Start + 0.3:0.00} {Math.Max(0.2, (0.4 * s.Words.Length) - 0.7):0.00} <NA> <NA> {s.Speaker} <NA> <NA>\n")));

    private static async Task ScoreAsync(HttpClient client, Call call, Run run, Func<JsonElement, string, string>? format = null)
    {
        var stereo = run.Input == "stereo call";
        using var form = new MultipartFormDataContent
        {
            { new StringContent(run.EchoCancel ? "true" : "false"), "echoCancel" },
            { new StringContent(run.Referee ? "true" : "false"), "referee" },
        };
        if (stereo)
        {
            form.Add(new StringContent("local, remote"), "speakers");
        }
        else
        {
            form.Add(new StringContent(CoarseRttm(call.Truth)), "diarization");
        }

        form.Add(new ByteArrayContent(await File.ReadAllBytesAsync(Path.Combine(call.Directory, stereo ? "call.wav" : "mix.wav"))), "file", "call.wav");
        using var started = await client.PostAsync("/api/transcripts", form);
        started.EnsureSuccessStatusCode();
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        JsonElement job = default;
        await Wait.UntilAsync(async () => (job = await client.GetFromJsonAsync<JsonElement>($"/api/transcripts/{id}")).GetProperty("status").GetString() is "done" or "failed",
            $"the {call.Name} job ends", TimeSpan.FromMinutes(10));
        if (job.GetProperty("status").GetString() != "done")
        {
            throw new InvalidOperationException($"The {call.Name} job failed: {job.GetProperty("error").GetString()}");
        }

        var result = job.GetProperty("result");
        var words = result.GetProperty("words").EnumerateArray()
            .Where(w => !(w.TryGetProperty("dropped", out var dropped) && dropped.GetBoolean()) && w.GetProperty("start").ValueKind == JsonValueKind.Number)
            .Select(w => new ScoredWord(w.GetProperty("word").GetString()!, w.GetProperty("start").GetDouble(), w.GetProperty("speaker").GetString(), w.TryGetProperty("channel", out var c) ? c.GetInt32() : 0))
            .ToList();
        string Wer(int channel)
        {
            if (!stereo)
            {
                // One channel holds both speakers: the error rate of each speaker's words against what they said.
                var speaker = channel == 0 ? "local" : "remote";
                var said = call.Truth.Where(s => s.Speaker == speaker).OrderBy(s => s.Start).SelectMany(s => s.Words).ToArray();
                return Percent(TranscriptScoring.WordErrorRate(said, [.. words.Where(w => w.Speaker == speaker).Select(w => w.Text)]));
            }

            return Percent(TranscriptScoring.WordErrorRate(TranscriptScoring.Reference(call.Truth, channel), [.. words.Where(w => w.Channel == channel).Select(w => w.Text)]));
        }

        var (right, wrong, unexplained) = TranscriptScoring.Attribution(words, call.Truth);
        if (format is not null)
        {
            Console.WriteLine(format(job, string.Create(CultureInfo.InvariantCulture, $"{Wer(0)} | {Wer(1)} | {Percent((double)right / Math.Max(1, right + wrong))} ({right}) | {wrong}")));
            return;
        }

        var changes = result.TryGetProperty("referee", out var referee)
            ? referee.GetProperty("decisions").EnumerateArray().Count(d => d.GetProperty("outcome").GetString() == "applied").ToString(CultureInfo.InvariantCulture) + $" of {referee.GetProperty("disputed").GetInt32()} disputed"
            : "–";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {call.Name} | {run.Input} | {(run.EchoCancel ? "on" : "off")} | {(run.Referee ? "on" : "off")} | {Wer(0)} | {Wer(1)} | {Percent((double)right / Math.Max(1, right + wrong))} ({right}) | {wrong} | {unexplained} | {changes} |"));
    }

    private static string Percent(double value) => value.ToString("0.0%", CultureInfo.InvariantCulture);
}
